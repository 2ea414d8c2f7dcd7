"""One read text becomes a stored scan and a verdict on the guard's screen.

The scan is committed to the outbox first (never lost), the service is asked for its
verdict for ``--timeout`` at most, and the scanner's own offline verdict stands in when it
does not answer in time; the outbox row then records what the guard was shown.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional

from .client import Link, ServiceClient
from .duty import Duty
from .keyboard import MAX_TOKEN
from .logbook import event_body
from .offline import OfflineJudge
from .outbox import Outbox, Row
from .poster import POST_GRACE, Poster
from .screen import ScreenState, Shown

#: After a failed attempt, scans within this many seconds do not wait for the
#: service at all: a queue at the gate must not pay a timeout per person.
SKIP_SYNC_AFTER_FAILURE = 10.0


class Cooldown:
    """Posts a pass once while it stays in view: a text counts as new only after
    it has been out of sight for ``seconds`` (on the source's clock)."""

    def __init__(self, seconds: float = 3.0):
        self.seconds = seconds
        self._seen: dict[str, float] = {}

    def fresh(self, text: str, t: float) -> bool:
        last = self._seen.get(text)
        self._seen[text] = t
        if len(self._seen) > 256:
            self._seen = {k: v for k, v in self._seen.items() if t - v <= self.seconds}
        return last is None or t - last > self.seconds or t < last


@dataclass
class Settings:
    server: str
    device_token: str
    timeout: float = 0.8
    cooldown: float = 3.0


class GateScanner:
    """Turns a read text into a stored scan and a verdict shown to the guard; records the
    guard's logbook events and duty."""

    def __init__(self, settings: Settings, outbox: Outbox, link: Link, judge: OfflineJudge,
                 state: ScreenState, on_shown: Callable[[Shown], None],
                 on_late: Callable[[Row, dict], None] | None = None):
        self.settings, self.outbox, self.link, self.judge = settings, outbox, link, judge
        self.state, self.on_shown = state, on_shown
        self.cooldown = Cooldown(settings.cooldown)
        self.poster = Poster(outbox, settings.server, settings.device_token, link,
                             settings.timeout, on_late)
        self.poster.start()
        self.duty = Duty(ServiceClient(settings.server, settings.device_token,
                                       outbox.pending_count), outbox)  # on the duty thread

    def offer(self, text: str, t: float, index: int, points=None) -> Optional[Shown]:
        """A decoded text: scanned unless it is the pass that is still in view."""
        shown = self.offer_all([(text, points)], t, index)
        return shown[0] if shown else None

    def offer_all(self, codes: list[tuple[str, object]], t: float, index: int) -> list[Shown]:
        """Every code read in one frame (a family holds up two or three passes): each one
        not still in view is scanned, all of them judged together."""
        fresh = [(text, points) for text, points in codes if self.cooldown.fresh(text, t)]
        return self.scan_all(fresh, index) if fresh else []

    def scan(self, text: str, index: int, points=None,
             temperature: Optional[float] = None) -> Shown:
        return self.scan_all([(text, points)], index, temperature)[0]

    def scan_all(self, codes: list[tuple[str, object]], index: int,
                 temperature: Optional[float] = None) -> list[Shown]:
        """One scan per code, each its own nonce and outbox row; the service is asked for
        all verdicts within one ``--timeout``, the offline verdict stands in for any
        without an answer. Worst verdict first; a typed reading goes with the first code."""
        now = datetime.now(timezone.utc)
        direction = self.state.direction
        if temperature is None:
            temperature, self.state.temperature = self.state.temperature, None
        temps = [temperature] + [None] * (len(codes) - 1)
        rows = [self._store(text, direction, now, temp) for (text, _), temp in zip(codes, temps)]
        offline = [self.judge.judge(text, direction, now, temp)
                   for (text, _), temp in zip(codes, temps)]
        answers: list[tuple[bool, Optional[dict]]] = [(False, None)] * len(rows)
        if not self.link.recently_down(SKIP_SYNC_AFTER_FAILURE):
            answers = self.poster.ask(rows, [v.reason for v in offline])
            if not all(answered for answered, _ in answers):
                # still posting: the queue at the gate does not wait for it
                self.link.fail("no verdict within %g s" % self.settings.timeout)
        else:  # not asked: record what the guard is shown; the sender's now
            for row, verdict in zip(rows, offline):
                self.outbox.update_body(row.nonce, offline_reason=verdict.reason)
                self.outbox.release(row.nonce)
        shown = [self._shown(row, text, points, index, temp, got, verdict)
                 for row, (text, points), temp, (_, got), verdict
                 in zip(rows, codes, temps, answers, offline)]
        shown.sort(key=lambda s: (s.allowed, s.offline))  # stable: worst first
        for n, one in enumerate(shown):
            one.group, one.group_index = len(shown), n
        self.state.show_all(shown)
        for one in shown:
            self.on_shown(one)
        return shown

    def _store(self, text: str, direction: str, now: datetime,
               temperature: Optional[float]) -> Row:
        """The scan committed to the outbox before anything else: never lost."""
        body = {"nonce": uuid.uuid4().hex, "token": text[:MAX_TOKEN], "direction": direction,
                "scanned_at": now.isoformat(timespec="milliseconds")}
        if temperature is not None:
            body["temperature"] = temperature
        if self.duty.guard_id is not None:
            body["guard_id"] = self.duty.guard_id
        nonce = self.outbox.add(body, hold=self.settings.timeout + POST_GRACE + 1)
        return Row(nonce, dict(body), "pending", 0, 0.0, None, None, "scan")

    def _shown(self, row: Row, text: str, points, index: int, temperature: Optional[float],
               data: Optional[dict], offline) -> Shown:
        """The service's verdict if it answered in time, else the offline one."""
        common = dict(nonce=row.nonce, text=text, direction=row.body["direction"],
                      scanned_at=row.body["scanned_at"], source_index=index,
                      temperature=temperature, points=points)
        if data is not None:
            if data.get("gate"):
                self.state.gate = data["gate"]
            return Shown(allowed=data["allowed"], reason=data["reason"],
                         message=data["message"], holder=data["holder"], offline=False,
                         **common)
        return Shown(allowed=offline.allowed, reason=offline.reason, message=offline.message,
                     holder=offline.holder, offline=True,
                     signature_only=bool(offline.extra.get("signature_only")), **common)

    # -- the logbook -------------------------------------------------------------

    def record_event(self, kind: str, fields: dict, note: str = "") -> dict:
        """Queue one logbook event; the sender delivers it (at once when online)."""
        body = event_body(kind, fields, note, self.duty.guard_id)
        self.outbox.add(body, kind="event")
        return body



def texts_in(frame, chain) -> list[tuple[str, object]]:
    """(text, corners) of every pass read in one frame (``ChainResult.codes``: a family's
    two or three), else a foreign code."""
    result = chain.decode(frame)
    if result.text:
        return list(result.codes)
    if result.rejected:  # e.g. a payment code held up by mistake: the guard must see "not ours"
        return [(result.rejected[0], None)]
    return []


