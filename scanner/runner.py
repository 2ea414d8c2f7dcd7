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
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from gatepass.tokens import KeyRing, looks_like_ours
from gatepass.wire import DEFAULT_TIMEZONE, TEMPERATURE_MAX, TEMPERATURE_MIN

from .offline import OfflineJudge, SnapshotStore, SnapshotSync
from .outbox import Link, Outbox, Row, Sender, ServiceClient
from .screen import ScreenState, Shown
from .sources import Item, open_source

log = logging.getLogger("scanner")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: After a failed attempt, scans within this many seconds do not wait for the
#: service at all: a queue at the gate must not pay a timeout per person.
SKIP_SYNC_AFTER_FAILURE = 10.0
MAX_TOKEN = 4096  # what the service accepts


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


class KeyInput:
    """The guard's keys, and a keyboard-wedge scanner typing into the window.

    With nothing typed yet, i/o/Tab switch direction and q/Esc quit; other
    printable keys start a line that Enter finishes: digits are a
    temperature for the next scan (``365`` or ``36.5``), anything longer is a
    scanned text (a wedge types ``GPS.…`` then Enter).
    """

    def __init__(self):
        self.buffer = ""

    def feed(self, key: int) -> Optional[tuple]:
        if key is None or key < 0:
            return None
        key &= 0xFFFF
        if key in (13, 10):
            text, self.buffer = self.buffer.strip(), ""
            if not text:
                return None
            if re.fullmatch(r"\d{2,3}(\.\d)?", text):
                value = float(text) if "." in text or len(text) == 2 else int(text) / 10
                if TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
                    return ("temperature", value)
                return ("invalid", text)
            if len(text) >= 4:
                return ("text", text)
            return ("invalid", text)
        if key == 27:
            if self.buffer:
                self.buffer = ""
                return None
            return ("quit",)
        if key in (8, 127):
            self.buffer = self.buffer[:-1]
            return None
        if key == 9 and not self.buffer:
            return ("toggle",)
        ch = chr(key & 0xFF) if (key & 0xFF) >= 32 and key < 256 else ""
        if not ch:
            return None
        if not self.buffer:
            if ch in "iI":
                return ("direction", "in")
            if ch in "oO":
                return ("direction", "out")
            if ch in "qQ":
                return ("quit",)
        if len(self.buffer) < MAX_TOKEN:
            self.buffer += ch
        return None


@dataclass
class Settings:
    server: str
    device_token: str
    timeout: float = 0.8
    cooldown: float = 3.0


class GateScanner:
    """Turns a read text into a stored scan and a verdict shown to the guard."""

    def __init__(self, settings: Settings, outbox: Outbox, link: Link, judge: OfflineJudge,
                 state: ScreenState, on_shown: Callable[[Shown], None]):
        self.settings, self.outbox, self.link, self.judge = settings, outbox, link, judge
        self.state, self.on_shown = state, on_shown
        self.cooldown = Cooldown(settings.cooldown)
        self.client = ServiceClient(settings.server, settings.device_token)

    def offer(self, text: str, t: float, index: int, points=None) -> Optional[Shown]:
        """A decoded text: scanned unless it is the pass that is still in view."""
        if not self.cooldown.fresh(text, t):
            return None
        return self.scan(text, index, points)

    def scan(self, text: str, index: int, points=None) -> Shown:
        now = datetime.now(timezone.utc)
        direction = self.state.direction
        offline = self.judge.judge(text, direction, now)
        body = {"nonce": uuid.uuid4().hex, "token": text[:MAX_TOKEN], "direction": direction,
                "scanned_at": now.isoformat(timespec="milliseconds")}
        temperature, self.state.temperature = self.state.temperature, None
        if temperature is not None:
            body["temperature"] = temperature
        nonce = self.outbox.add(body, hold=self.settings.timeout + 5)  # committed: never lost

        reply = None
        if not self.link.recently_down(SKIP_SYNC_AFTER_FAILURE):
            reply = self.client.post_scan(body, self.settings.timeout)
        if reply is not None and reply.status == 200 and reply.data is not None:
            self.outbox.delivered(nonce, reply.data)
            self.link.ok()
            data = reply.data
            if data.get("gate"):
                self.state.gate = data["gate"]
            shown = Shown(nonce=nonce, text=text, allowed=bool(data.get("allowed")),
                          reason=str(data.get("reason") or ""),
                          message=str(data.get("message") or ""),
                          holder=data.get("holder"), offline=False, direction=direction,
                          scanned_at=body["scanned_at"], source_index=index,
                          temperature=temperature, points=points)
        else:
            if reply is not None:
                if reply.status == 0:
                    self.link.fail(reply.error or "timeout")
                elif reply.status == 401:
                    self.link.fail(reply.error, auth=True)
                elif 400 <= reply.status < 500 and reply.status not in (408, 429):
                    self.outbox.rejected(nonce, reply.error, reply.data)
            # The service decides later; record what the guard was shown, then let it go.
            self.outbox.update_body(nonce, offline_reason=offline.reason)
            self.outbox.release(nonce)
            shown = Shown(nonce=nonce, text=text, allowed=offline.allowed, reason=offline.reason,
                          message=offline.message, holder=offline.holder, offline=True,
                          direction=direction, scanned_at=body["scanned_at"], source_index=index,
                          temperature=temperature, points=points,
                          signature_only=bool(offline.extra.get("signature_only")))
        self.state.show(shown)
        self.on_shown(shown)
        return shown


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
    p = subparsers.add_parser(
        "run", help="scan passes at a gate (camera, video, images or a hand scanner)",
        description="Read QR passes, show the guard a verdict, post every scan to the service.")
    p.add_argument("--server", default=os.environ.get("GATEPASS_SERVER"),
                   required=not os.environ.get("GATEPASS_SERVER"),
                   help="service URL, e.g. http://10.0.0.2:5000 (env GATEPASS_SERVER)")
    p.add_argument("--device-token", default=os.environ.get("GATEPASS_DEVICE_TOKEN"),
                   required=not os.environ.get("GATEPASS_DEVICE_TOKEN"),
                   help="this gate's token from `flask --app app devices create` "
                        "(env GATEPASS_DEVICE_TOKEN keeps it out of `ps`)")
    p.add_argument("--source", default="0",
                   help="camera index (0), a video file, an image or folder, or - for "
                        "lines on stdin (USB hand scanner)")
    p.add_argument("--direction", choices=("in", "out"), default="in")
    p.add_argument("--headless", action="store_true",
                   help="no window: one JSON line per verdict on stdout")
    p.add_argument("--outbox", type=Path, default=default_outbox(),
                   help="SQLite file of undelivered scans; the snapshot cache sits next to it "
                        "(default: %(default)s)")
    p.add_argument("--keys", type=Path,
                   default=Path(os.environ.get("KEYS_DIR") or PROJECT_ROOT / "keys"),
                   help="folder of pass-signing keys (default: %(default)s)")
    p.add_argument("--guard", default="", help="duty guard's name for the status line")
    p.add_argument("--cooldown", type=float, default=3.0,
                   help="seconds a pass must be out of view before it is scanned again")
    p.add_argument("--timeout", type=float, default=0.8,
                   help="seconds to wait for the service's verdict before showing the offline one")
    p.add_argument("--drain-timeout", type=float, default=10.0,
                   help="after a finite source ends, seconds to wait for undelivered scans")
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
        self.outbox.forget_delivered()  # a week of delivered scans is plenty to answer questions
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
                                   self.outbox, self.link, self.judge, self.state, self._shown)
        self.sender = Sender(self.outbox, args.server, args.device_token, self.link,
                             on_delivered=self._delivered)
        self.sync = SnapshotSync(self.store, args.server, args.device_token, self.link,
                                 interval=args.sync_interval)
        self._next_count = 0.0
        self._last_frame = None
        self.chain = None

    # -- reporting ---------------------------------------------------------------

    def _shown(self, shown: Shown) -> None:
        if self.args.headless:
            print(json.dumps(shown.json(), ensure_ascii=False), flush=True)
        if self.args.save_screens:
            from .screen import render, save_png
            self._refresh_status(force=True)
            folder = Path(self.args.save_screens)
            folder.mkdir(parents=True, exist_ok=True)
            save_png(render(self._last_frame, self.state),
                     folder / f"{shown.source_index:05d}-{shown.reason}-{shown.nonce[:8]}.png")
        if self.sound:
            self.sound.play(shown.allowed)

    def _delivered(self, row: Row, response: dict) -> None:
        """A scan shown offline reached the service: tell the guard if it disagrees."""
        shown_reason = row.body.get("offline_reason")
        if not shown_reason or bool(response.get("allowed")) == (shown_reason == "OK"):
            return
        holder = response.get("holder") or {}
        who = holder.get("name") or holder.get("code") or row.body.get("token", "")[:12]
        verdict = "通过" if response.get("allowed") else "禁止"
        self.state.notice = f"补报 {who}: 服务器判定{verdict}（{response.get('message', '')}）"
        self.state.notice_at = time.monotonic()
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
            if self.window is not None:
                self.window.close()
            self.sender.join(timeout=2)
            self.outbox.close()
        return 0

    def _handle(self, item: Item):
        if item.frame is not None:
            self._last_frame = item.frame
        if item.text is not None:
            self.scanner.offer(item.text, item.t, item.index)
            return None
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
        self.state.typed = keys.buffer
        image = render(self._last_frame, self.state)
        key = self.window.show(image, 1)
        if self.window.closed():
            return False
        action = keys.feed(key)
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
            self.state.temperature = action[1]
        elif kind == "text":
            self.scanner.offer(action[1], time.monotonic(), -1)
        elif kind == "invalid":
            self.state.notice, self.state.notice_at = f"无法识别的输入: {action[1]}", time.monotonic()
        return True

    def _drain(self) -> None:
        """A finite source ended: give undelivered scans a chance, bounded."""
        deadline = time.monotonic() + max(0.0, self.args.drain_timeout)
        self.sender.max_wait = 1.0
        self.sender.flush()
        while self.outbox.pending_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = self.outbox.pending_count()
        if left:
            log.warning("%d row(s) not delivered yet; kept in %s for the next start", left,
                        self.outbox_path)
