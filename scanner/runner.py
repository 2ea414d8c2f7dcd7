"""``python -m scanner run``: the live gate scanner (registered in scanner/cli.py).

One loop: take the next frame or line from the source, decode it, and for a
pass not seen in the last few seconds, write the scan to the outbox, ask the
service for its verdict (briefly), fall back to the offline verdict, and show
it. Threads do the rest: the camera grabber, the outbox sender, the snapshot
poller. Nothing the network does can stall the queue at the gate for more
than ``--timeout``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from gatepass.tokens import KeyRing, looks_like_ours
from gatepass.wire import DEFAULT_TIMEZONE, DUTY_SIGN_OFF_PATH, DUTY_SIGN_ON_PATH, parse_time

from . import config
from .keyboard import MAX_TOKEN, KeyInput, parse_line  # noqa: F401 - KeyInput for tests
from .logbook import describe, event_body
from .offline import OfflineJudge, SnapshotStore, SnapshotSync
from .outbox import Link, Outbox, Row, Sender, ServiceClient, deliver
from .screen import ScreenState, Shown
from .sources import Item, open_source

log = logging.getLogger("scanner")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: After a failed attempt, scans within this many seconds do not wait for the
#: service at all: a queue at the gate must not pay a timeout per person.
SKIP_SYNC_AFTER_FAILURE = 10.0


def default_outbox() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or \
        os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "gatepass-scanner" / "outbox.sqlite3"


def snapshot_path(outbox: Path) -> Path:
    """The snapshot cache lives next to the outbox: one folder holds a gate's state."""
    return outbox.with_name(outbox.stem + ".snapshot.json")


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


#: How long past the guard's wait the posting thread may still finish a scan (its own
#: wall-clock deadline); the sender keeps off the row until then.
POST_GRACE = 2.0
#: How long a TEMPERATURE_REQUIRED deny waits for the guard to type the reading.
TEMPERATURE_PROMPT_SECONDS = 60.0
#: Sign-on and sign-off wait this long for the service (they need it; scans do not).
DUTY_TIMEOUT = 3.0


class _Job:
    def __init__(self, row: Row):
        self.row, self.done, self.got, self.gave_up = row, threading.Event(), None, False
        self.offline_reason: Optional[str] = None


class Poster(threading.Thread):
    """Posts the scan the guard is waiting for, off the loop that draws the screen.

    The loop waits ``timeout`` at most (a wall clock, whatever the server does) and shows
    the offline verdict when no receipt came; the post goes on here until its own
    deadline and, if the receipt arrives late, ``on_late`` hears of it.
    """

    def __init__(self, outbox: Outbox, server: str, device_token: str, link: Link,
                 timeout: float, on_late: Callable[[Row, dict], None] | None = None):
        super().__init__(name="poster", daemon=True)
        self.outbox, self.link, self.timeout, self.on_late = outbox, link, timeout, on_late
        self.server, self.device_token = server, device_token
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()

    def ask(self, row: Row) -> tuple[bool, Optional[dict]]:
        """(answered in time, receipt or None) within ``timeout`` s; when not answered the
        post continues in the background."""
        job = _Job(row)
        self._jobs.put(job)
        answered = job.done.wait(self.timeout)
        with self._lock:
            if job.got is None:
                job.gave_up = True
            return answered or job.got is not None, job.got

    def give_up(self, row: Row, offline_reason: str) -> None:
        """Record the offline verdict the guard saw, for a late receipt's comparison."""
        row.body["offline_reason"] = offline_reason

    def stop(self) -> None:
        self._jobs.put(None)

    def run(self) -> None:
        client = ServiceClient(self.server, self.device_token, self.outbox.pending_count)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if self.outbox.state_of(job.row.nonce) != "pending":
                    job.done.set()
                    continue  # the sender got there first
                _, got = deliver(self.outbox, client, self.link, job.row,
                                 self.timeout + POST_GRACE)
            except Exception:  # noqa: BLE001 - the poster must outlive any reply
                log.exception("poster: %s failed", job.row.nonce)
                got = None
            with self._lock:
                job.got = got
                late = job.gave_up and got is not None
            job.done.set()
            if late and self.on_late:
                try:
                    self.on_late(job.row, got)
                except Exception:  # noqa: BLE001
                    log.exception("poster: late-verdict callback failed")


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
        self.client = ServiceClient(settings.server, settings.device_token,
                                    outbox.pending_count)  # duty requests, on the loop
        self.guard_id: Optional[int] = None

    def offer(self, text: str, t: float, index: int, points=None) -> Optional[Shown]:
        """A decoded text: scanned unless it is the pass that is still in view."""
        if not self.cooldown.fresh(text, t):
            return None
        return self.scan(text, index, points)

    def scan(self, text: str, index: int, points=None,
             temperature: Optional[float] = None) -> Shown:
        now = datetime.now(timezone.utc)
        direction = self.state.direction
        if temperature is None:
            temperature, self.state.temperature = self.state.temperature, None
        body = {"nonce": uuid.uuid4().hex, "token": text[:MAX_TOKEN], "direction": direction,
                "scanned_at": now.isoformat(timespec="milliseconds")}
        if temperature is not None:
            body["temperature"] = temperature
        if self.guard_id is not None:
            body["guard_id"] = self.guard_id
        # committed before anything else: never lost
        nonce = self.outbox.add(body, hold=self.settings.timeout + POST_GRACE + 1)
        row = Row(nonce, dict(body), "pending", 0, 0.0, None, None, "scan")

        data, asked = None, False
        if not self.link.recently_down(SKIP_SYNC_AFTER_FAILURE):
            asked = True
            answered, data = self.poster.ask(row)
            if not answered:  # still posting: the queue at the gate does not wait for it
                self.link.fail("no verdict within %g s" % self.settings.timeout)
        common = dict(nonce=nonce, text=text, direction=direction, scanned_at=body["scanned_at"],
                      source_index=index, temperature=temperature, points=points)
        if data is not None:
            if data.get("gate"):
                self.state.gate = data["gate"]
            shown = Shown(allowed=data["allowed"], reason=data["reason"],
                          message=data["message"], holder=data["holder"], offline=False,
                          **common)
        else:
            offline = self.judge.judge(text, direction, now, temperature)
            # The service decides later; record what the guard was shown.
            self.poster.give_up(row, offline.reason)
            self.outbox.update_body(nonce, offline_reason=offline.reason)
            if not asked:
                self.outbox.release(nonce)  # the sender's now; a post in flight keeps its hold
            shown = Shown(allowed=offline.allowed, reason=offline.reason,
                          message=offline.message, holder=offline.holder, offline=True,
                          signature_only=bool(offline.extra.get("signature_only")), **common)
        self.state.show(shown)
        self.on_shown(shown)
        return shown

    # -- the logbook -------------------------------------------------------------

    def record_event(self, kind: str, fields: dict, note: str = "") -> dict:
        """Queue one logbook event; the sender delivers it (at once when online)."""
        body = event_body(kind, fields, note, self.guard_id)
        self.outbox.add(body, kind="event")
        return body

    # -- duty --------------------------------------------------------------------

    def sign_on(self, pin: str) -> dict:
        """POST the PIN; {"ok": True, "guard", "handover"} or {"ok": False, "error"}."""
        reply = self.client.post(DUTY_SIGN_ON_PATH, {"pin": pin}, DUTY_TIMEOUT)
        if reply.status == 0:
            return {"ok": False, "error": "上岗需要联网，请稍后再试（扫码照常）",
                    "offline": True}
        guard = (reply.data or {}).get("guard") if reply.status == 200 else None
        if not isinstance(guard, dict) or not isinstance(guard.get("id"), int) \
                or isinstance(guard.get("id"), bool) or not isinstance(guard.get("name"), str):
            said = _service_says(reply.data)
            if reply.status == 403:
                # the service's words: a wrong PIN, or too many wrong PINs (locked for a
                # while: "retype" would only keep the guard locked out)
                return {"ok": False, "error": said or "PIN 不对，请重输"}
            return {"ok": False, "error": f"上岗失败：{said or reply.error or reply.status}"}
        self.guard_id = guard["id"]
        handover = (reply.data or {}).get("handover")
        return {"ok": True, "guard": {"id": guard["id"], "name": guard["name"][:40]},
                "handover": _handover_text(handover)}

    def sign_off(self, note: str) -> dict:
        if self.guard_id is None:
            return {"ok": False, "error": "还没有人上岗（按 g 上岗）"}
        body = {"guard_id": self.guard_id, "note": note[:500],
                "outbox_waiting": self.outbox.pending_count()}
        reply = self.client.post(DUTY_SIGN_OFF_PATH, body, DUTY_TIMEOUT)
        handover_id = (reply.data or {}).get("handover_id") if reply.status == 200 else None
        if reply.status == 0:
            return {"ok": False, "error": "交班需要联网，请稍后再试", "offline": True}
        if not isinstance(handover_id, int) or isinstance(handover_id, bool):
            why = _service_says(reply.data) or reply.error or reply.status
            return {"ok": False, "error": f"交班失败：{why}"}
        self.guard_id = None
        return {"ok": True, "handover_id": handover_id}


def _service_says(data) -> str:
    """Why the service refused, for the gate screen: its Chinese words (``message_zh``)
    when it gives them, else ``message`` (the service's errors put English there)."""
    data = data if isinstance(data, dict) else {}
    for key in ("message_zh", "message"):
        if isinstance(data.get(key), str) and data[key].strip():
            return data[key].strip()[:80]
    return ""


def _handover_text(handover) -> str:
    """The previous shift's note in one line: 上一班 王师傅 22:00：东侧栏杆松了."""
    if not isinstance(handover, dict):
        return ""
    who = handover.get("from") if isinstance(handover.get("from"), str) else ""
    note = handover.get("note") if isinstance(handover.get("note"), str) else ""
    at = _local_hm(handover.get("at")) if isinstance(handover.get("at"), str) else ""
    return f"上一班 {who} {at} 交班：{note or '无备注'}".replace("  ", " ")


def _local_hm(iso: str) -> str:
    try:
        return parse_time(iso).astimezone().strftime("%H:%M")
    except (TypeError, ValueError):
        return ""


def texts_in(frame, chain) -> list[tuple[str, object]]:
    """(text, corners) read from one frame: our pass if any, else a foreign code."""
    result = chain.decode(frame)
    if result.text:
        return [(result.text, result.points)]
    if result.rejected:  # e.g. a payment code held up by mistake: the guard must see "not ours"
        return [(result.rejected[0], None)]
    return []


def _make_chain():
    from .chain import DecoderChain
    return DecoderChain(accept=looks_like_ours, carry_over=True).warm_up()


# --------------------------------------------------------------------------- CLI

def add_run_parser(subparsers) -> argparse.ArgumentParser:
    enrolled = config.load()  # what `python -m scanner enroll` stored; flags override it
    p = subparsers.add_parser(
        "run", help="scan passes at a gate (camera, video, images or a hand scanner)",
        description="Read QR passes, show the guard a verdict, post every scan to the service. "
                    "After `python -m scanner enroll`, server, token and keys come from "
                    f"{config.config_dir()}.")
    p.add_argument("--server", default=os.environ.get("GATEPASS_SERVER") or enrolled.get("server"),
                   help="service URL, e.g. http://10.0.0.2:5000 (env GATEPASS_SERVER; "
                        "default: the enrolled one)")
    p.add_argument("--device-token",
                   default=os.environ.get("GATEPASS_DEVICE_TOKEN") or enrolled.get("device_token"),
                   help="this gate's token (env GATEPASS_DEVICE_TOKEN keeps it out of `ps`; "
                        "default: the enrolled one)")
    p.add_argument("--source", default="0",
                   help="camera index (0), a video file, an image or folder, or - for "
                        "lines on stdin (USB hand scanner)")
    p.add_argument("--direction", choices=("in", "out"), default="in")
    p.add_argument("--headless", action="store_true",
                   help="no window: one JSON line per verdict on stdout")
    p.add_argument("--outbox", type=Path, default=default_outbox(),
                   help="SQLite file of undelivered scans and events; the snapshot cache "
                        "sits next to it (default: %(default)s)")
    default_keys = os.environ.get("KEYS_DIR") or (
        config.keys_dir() if enrolled.get("device_token") and config.keys_dir().is_dir()
        else PROJECT_ROOT / "keys")
    p.add_argument("--keys", type=Path, default=Path(default_keys),
                   help="folder of pass-signing keys (default: %(default)s)")
    p.add_argument("--guard", default="", help="duty guard's name for the status line "
                   "(or sign on at the scanner: g, the PIN, Enter)")
    p.add_argument("--cooldown", type=float, default=3.0,
                   help="seconds a pass must be out of view before it is scanned again")
    p.add_argument("--timeout", type=float, default=0.8,
                   help="seconds to wait for the service's verdict before showing the offline one")
    p.add_argument("--drain-timeout", type=float, default=10.0,
                   help="after a finite source ends, seconds to wait for undelivered rows")
    p.add_argument("--hold", type=float, default=4.0, help="seconds a verdict stays on screen")
    p.add_argument("--max-age", type=int, default=60,
                   help="seconds a phone code is valid offline until the service's "
                        "snapshot says otherwise (its DYNAMIC_TOKEN_MAX_AGE)")
    p.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="for category hours offline")
    p.add_argument("--sync-interval", type=float, default=30.0, help="snapshot poll, seconds")
    p.add_argument("--save-screens", type=Path, metavar="DIR",
                   help="also save the guard's screen for every verdict as a PNG in DIR")
    p.add_argument("--fullscreen", action="store_true")
    p.add_argument("--no-sound", action="store_true")
    p.set_defaults(func=run_command)
    return p


def run_command(args) -> int:
    if not args.server or not args.device_token:
        print("scanner: not enrolled: run `python -m scanner enroll` with the office's setup "
              "QR, or give --server and --device-token", file=sys.stderr)
        return 2
    try:
        return Runner(args).run()
    except (FileNotFoundError, OSError) as err:
        print(f"scanner: {err}", file=sys.stderr)
        return 2


class Runner:
    def __init__(self, args):
        self.args = args
        self.outbox_path = Path(args.outbox)
        self.outbox = Outbox(self.outbox_path)
        self.outbox.forget_delivered()  # a week of delivered rows is plenty to answer questions
        self.link = Link()
        ring = KeyRing.load(args.keys)
        if not len(ring):
            log.warning("no keys in %s: passes can only be judged online", args.keys)
        self.store = SnapshotStore(snapshot_path(self.outbox_path), args.server)
        self.judge = OfflineJudge(ring, self.store, tz=args.timezone,
                                  max_age=timedelta(seconds=args.max_age))
        self.state = ScreenState(direction=args.direction, guard=args.guard, hold=args.hold,
                                 gate=self.store.current.gate if self.store.current else "")
        if args.headless and hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(encoding="utf-8")
        self.sound = None
        self.window = None
        self.scanner = GateScanner(Settings(args.server, args.device_token, args.timeout,
                                            args.cooldown),
                                   self.outbox, self.link, self.judge, self.state, self._shown,
                                   on_late=self._delivered)
        self.sender = Sender(self.outbox, args.server, args.device_token, self.link,
                             on_delivered=self._delivered)
        self.sync = SnapshotSync(self.store, args.server, args.device_token, self.link,
                                 interval=args.sync_interval, waiting=self.outbox.pending_count)
        self._next_count = 0.0
        self._last_frame = None
        self.chain = None
        #: sign-on and sign-off wait for the service; one at a time, off the screen's loop
        self._duty = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duty")

    # -- reporting ---------------------------------------------------------------

    def _emit(self, record: dict) -> None:
        if self.args.headless:
            print(json.dumps(record, ensure_ascii=False), flush=True)

    def _shown(self, shown: Shown) -> None:
        self._emit({"type": "scan", **shown.json()})
        self.state.awaiting_temperature = shown.reason == "TEMPERATURE_REQUIRED"
        if self.args.save_screens:
            self._save_screen(f"{shown.source_index:05d}-{shown.reason}-{shown.nonce[:8]}")
        if self.sound:
            self.sound.play(shown.allowed)

    def _save_screen(self, name: str) -> None:
        from .screen import render, save_png
        self._refresh_status(force=True)
        folder = Path(self.args.save_screens)
        folder.mkdir(parents=True, exist_ok=True)
        save_png(render(self._last_frame, self.state), folder / f"{name}.png")

    def _notice(self, text: str, seconds: float = 30.0) -> None:
        self.state.notice, self.state.notice_at = text, time.monotonic()
        self.state.notice_secs = seconds

    def _delivered(self, row: Row, response: dict) -> None:
        """A row shown offline reached the service: tell the guard if it disagrees."""
        if row.kind != "scan":
            return
        shown_reason = row.body.get("offline_reason")
        if not shown_reason or bool(response.get("allowed")) == (shown_reason == "OK"):
            return
        holder = response.get("holder") or {}
        who = holder.get("name") or holder.get("code") or "该证"
        verdict = "通过" if response.get("allowed") else "禁止"
        self._notice(f"补报 {who}: 服务器判定{verdict}（{response.get('message', '')}）")
        log.info("late verdict for %s: %s", row.nonce, response.get("reason"))

    def _refresh_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_count:
            return
        self._next_count = now + 0.5
        counts = self.outbox.counts()
        self.state.pending = counts.get("pending", 0)
        self.state.rejected = counts.get("rejected", 0)
        self.state.online, self.state.auth_failed = self.link.online, self.link.auth_failed
        if self.store.current and self.store.current.gate:
            self.state.gate = self.store.current.gate

    # -- the guard's actions -----------------------------------------------------

    def act(self, action: Optional[tuple], index: int = -1) -> bool:
        """One key action or typed line; False when the guard quits."""
        if action is None:
            return True
        kind = action[0]
        if kind == "quit":
            return False
        if kind == "direction":
            self.state.direction = action[1]
        elif kind == "toggle":
            self.state.direction = "out" if self.state.direction == "in" else "in"
        elif kind == "temperature":
            self._temperature(action[1], index)
        elif kind == "text":
            self.scanner.offer(action[1], time.monotonic(), index)
        elif kind == "event":
            self._event(action[1], action[2], action[3])
        elif kind == "sign_on":
            self._sign_on(action[1])
        elif kind == "sign_off":
            self._sign_off(action[1])
        elif kind == "invalid":
            self._notice(f"无法识别的输入: {action[1]}", 10)
            self._emit({"type": "invalid", "text": action[1]})
        return True

    def _temperature(self, value: float, index: int) -> None:
        """A reading: it re-judges the pass that was denied for want of one, or goes with
        the next scan."""
        last = self.state.last
        if self.state.awaiting_temperature and last is not None \
                and time.monotonic() - self.state.shown_at < TEMPERATURE_PROMPT_SECONDS:
            self.state.awaiting_temperature = False
            self.scanner.scan(last.text, index, temperature=value)
        else:
            self.state.temperature = value

    def _event(self, kind: str, fields: dict, note: str) -> None:
        body = self.scanner.record_event(kind, fields, note)
        self._notice(f"已记录：{describe(body)}" + ("" if self.link.online else "（离线，待上传）"),
                     15)
        self.state.last_event = describe(body)
        self._emit({"type": "event", "nonce": body["nonce"], "kind": kind,
                    "fields": fields, "note": note, "guard_id": body.get("guard_id")})
        if self.args.save_screens:
            self._save_screen(f"event-{kind}-{body['nonce'][:8]}")

    def _sign_on(self, pin: str) -> None:
        """Needs the service: asked on the duty thread so the screen keeps drawing."""
        self._notice("正在上岗…", DUTY_TIMEOUT + 1)
        self._duty.submit(self._duty_task, self._signed_on, pin)

    def _duty_task(self, task, arg: str) -> None:
        try:
            task(arg)
        except Exception:  # noqa: BLE001 - a bug here must not go unseen, nor stop scans
            log.exception("duty request failed")
            self._notice("上岗/交班失败，请重试", 20)

    def _signed_on(self, pin: str) -> None:
        got = self.scanner.sign_on(pin)
        if got["ok"]:
            self.state.guard = got["guard"]["name"]
            self.state.handover = got["handover"]
            self._notice(f"{got['guard']['name']} 已上岗" +
                         (f"    {got['handover']}" if got["handover"] else ""), 120)
        else:
            self._notice(got["error"], 20)
        self._emit({"type": "sign_on", **got})

    def _sign_off(self, note: str) -> None:
        self._notice("正在交班…", DUTY_TIMEOUT + 1)
        self._duty.submit(self._duty_task, self._signed_off, note)

    def _signed_off(self, note: str) -> None:
        got = self.scanner.sign_off(note)
        if got["ok"]:
            self._notice(f"{self.state.guard} 已交班", 20)
            self.state.guard, self.state.handover = "", ""
        else:
            self._notice(got["error"], 20)
        self._emit({"type": "sign_off", **got})

    # -- the loop ----------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        source = open_source(args.source)
        self.state.source_note = "扫码枪模式" if args.source == "-" else ""
        if not args.headless:
            from .screen import Sound, Window
            self.sound = Sound(enabled=not args.no_sound)
            self.window = Window(fullscreen=args.fullscreen)
        keys = KeyInput()
        stop = {"now": False}

        def on_term(*_):
            stop["now"] = True
        old_term = signal.signal(signal.SIGTERM, on_term)
        self.sync.start()
        self.sender.start()
        finished = False
        try:
            for item in source:
                if stop["now"]:
                    break
                if item is not None and item.text is not None:
                    if not self.act(parse_line(item.text), item.index):
                        break
                    frame = None
                else:
                    frame = self._handle(item) if item is not None else None
                if self.window is not None and not self._ui(frame, keys, item):
                    break
            else:
                finished = True
            if finished and source.finite:
                self._drain()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, old_term)
            source.close()
            self.sender.stop()
            self.sync.stop()
            self.scanner.poster.stop()
            self._duty.shutdown(wait=True)  # a sign-off in flight ends by its deadline
            if self.window is not None:
                self.window.close()
            self.sender.join(timeout=2)
            self.outbox.close()
        return 0

    def _handle(self, item: Item):
        if item.frame is not None:
            self._last_frame = item.frame
        if self.chain is None:
            self.chain = _make_chain()  # only frame sources pay for the decoders
        found = texts_in(item.frame, self.chain)
        self.state.points = found[0][1] if found else None
        for text, points in found:
            self.scanner.offer(text, item.t, item.index, points)
        return item.frame

    def _ui(self, frame, keys: KeyInput, item: Optional[Item]) -> bool:
        """Draw and read one key; False when the guard quits."""
        from .screen import render
        self._refresh_status()
        self.state.typed, self.state.mode = keys.shown(), keys.mode
        image = render(self._last_frame, self.state)
        key = self.window.show(image, 1)
        if self.window.closed():
            return False
        return self.act(keys.feed(key))

    def _drain(self) -> None:
        """A finite source ended: give undelivered rows a chance, bounded."""
        deadline = time.monotonic() + max(0.0, self.args.drain_timeout)
        self.sender.max_wait = 1.0
        self.sender.flush()
        while self.outbox.pending_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = self.outbox.pending_count()
        if left:
            log.warning("%d row(s) not delivered yet; kept in %s for the next start", left,
                        self.outbox_path)
