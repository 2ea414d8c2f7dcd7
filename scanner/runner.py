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
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Optional

from gatepass.tokens import KeyRing, looks_like_ours
from gatepass.wire import DEFAULT_TIMEZONE

from . import config
from .client import Link
from .duty import DutyDesk
from .gate import GateScanner, Settings, texts_in
from .keyboard import KeyInput, parse_line
from .logbook import describe
from .offline import OfflineJudge, SnapshotStore, SnapshotSync
from .outbox import Outbox, Row, Sender
from .screen import ScreenState, Shown
from .sources import Item, open_source
from .voice import clip_name

log = logging.getLogger("scanner")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: How long a TEMPERATURE_REQUIRED deny waits for the guard to type the reading.
TEMPERATURE_PROMPT_SECONDS = 60.0


def default_outbox() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or \
        os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "gatepass-scanner" / "outbox.sqlite3"


def snapshot_path(outbox: Path) -> Path:
    """The snapshot cache lives next to the outbox: one folder holds a gate's state."""
    return outbox.with_name(outbox.stem + ".snapshot.json")


def _make_chain(judge: OfflineJudge):
    """The live chain: foreign codes are set aside, and a corrected read whose signature
    fails is taken for a misread, not shown as a forged pass."""
    from .chain import DecoderChain
    return DecoderChain(accept=looks_like_ours, carry_over=True,
                        confirm=judge.signature_holds,
                        verify=judge.signature_verified).warm_up()


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
    p.add_argument("--voice", action=argparse.BooleanOptionalAction,
                   default=bool(enrolled.get("voice")),
                   help="say each verdict aloud in Mandarin (espeak-ng clips; default: "
                        "\"voice\" in config.json, else off)")
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
        self.voice = None
        self.scanner = GateScanner(Settings(args.server, args.device_token, args.timeout,
                                            args.cooldown),
                                   self.outbox, self.link, self.judge, self.state, self._shown,
                                   on_late=self._delivered)
        self.sender = Sender(self.outbox, args.server, args.device_token, self.link,
                             on_delivered=self._delivered)
        self.sync = SnapshotSync(self.store, args.server, args.device_token, self.link,
                                 interval=args.sync_interval, waiting=self.outbox.pending_count)
        self._next_count = 0.0
        self._corrected: set[str] = set()  # nonces whose late verdict the guard was told
        self._last_frame = None
        self.chain = None
        #: sign-on and sign-off wait for the service; one at a time, off the screen's loop
        self.desk = DutyDesk(self.scanner.duty, self.state, self._notice, self._emit)

    # -- reporting ---------------------------------------------------------------

    def _emit(self, record: dict) -> None:
        if self.args.headless:
            print(json.dumps(record, ensure_ascii=False), flush=True)

    def _shown(self, shown: Shown) -> None:
        """Each verdict is one JSON line; a family's (``group`` > 1) share one screen, one
        beep, the worst one's (``group_index`` 0)."""
        self._emit({"type": "scan", **shown.json()})
        if shown.group_index:
            return
        self.state.awaiting_temperature = shown.reason == "TEMPERATURE_REQUIRED"
        if self.args.save_screens:
            self._save_screen(f"{shown.source_index:05d}-{shown.reason}-{shown.nonce[:8]}")
        said = self.voice is not None and self.voice.say(
            clip_name(shown.reason, shown.allowed, shown.offline,
                      bool((shown.holder or {}).get("name"))))
        if self.sound and not said:  # the beeps when the voice is off, quiet or repeating
            self.sound.play(shown.allowed)

    def _save_screen(self, name: str) -> None:
        from .screen import render
        from .window import save_png
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
        if row.nonce in self._corrected:
            return  # told already (a late receipt, then the repost with offline_reason)
        self._corrected = {*list(self._corrected)[-99:], row.nonce}
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
        self.state.server_error = self.link.server_trouble
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
            self.desk.sign_on(action[1])
        elif kind == "sign_off":
            self.desk.sign_off(action[1])
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


    def run(self) -> int:
        args = self.args
        source = open_source(args.source)
        self.state.source_note = "扫码枪模式" if args.source == "-" else ""
        if not args.headless:
            from .window import Window
            from .sound import Sound
            self.sound = Sound(enabled=not args.no_sound)
            self.window = Window(fullscreen=args.fullscreen)
        if args.voice:
            from .voice import Voice
            self.voice = Voice()
            self.voice.start()
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
            if self.voice is not None:
                self.voice.stop()
            self.desk.shutdown()  # a sign-off in flight ends by its deadline
            if self.window is not None:
                self.window.close()
            self.sender.join(timeout=2)
            self.outbox.close()
        return 0

    def _handle(self, item: Item):
        if item.frame is not None:
            self._last_frame = item.frame
        if self.chain is None:
            self.chain = _make_chain(self.judge)  # only frame sources pay for the decoders
        found = texts_in(item.frame, self.chain)
        self.state.points = found[0][1] if found else None
        self.scanner.offer_all(found, item.t, item.index)
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
