"""The gate speaks: the verdict said aloud in Mandarin, for a loud checkpoint and for
residents who cannot read the screen (``--voice``, or ``"voice": true`` in config.json).

One short clip per reason code (gatepass/verdict.py REASONS) and per prompt, made offline
with espeak-ng's ``cmn`` voice (trimmed and levelled with sox when it is there) into the
scanner's cache folder, never into git: ``python -m scanner voice`` (``make voice``) makes
them all at install; a missing one is made when first needed. A player thread plays them
(paplay, pw-play, aplay, sox's play or ffplay), so neither the screen nor the camera ever
waits; the same clip is not said again while it was just said, and without a player, an
engine or a sound device the gate stays silent (the beeps stand in) and never fails.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from gatepass.verdict import REASONS

log = logging.getLogger("scanner.voice")

VOICE, SPEED = "cmn", 200  # espeak-ng's Mandarin; words per minute
#: Seconds during which the same clip is not said again (a family of three all 通过, a
#: phone held up twice): the guard heard it, the queue did not need it twice.
REPEAT_WITHIN = 4.0
#: What is said instead of the screen's wording: short, and 禁止 first for every deny.
SPOKEN = {"OK": "通过", "TEMPERATURE_REQUIRED": "请先测体温", "FEVER": "禁止，体温异常，请复测",
          "BAD_FORMAT": "禁止，不是本小区通行码", "HEALTH_CERTIFICATE": "禁止，这是健康证明",
          "BAD_SIGNATURE": "禁止，通行码无效", "UNKNOWN_KEY": "禁止，通行码无效",
          "KEY_RETIRED": "禁止，请到物业换证", "STALE": "请刷新通行码",
          "IN_QUARANTINE": "禁止，居家隔离期内", "ALREADY_INSIDE": "禁止，已在小区内",
          "ALREADY_OUTSIDE": "禁止，已在小区外", "OTHER_COMMUNITY": "禁止，非本社区通行证",
          "ONLINE_ONLY": "街道通行证，请人工核对"}
#: Prompts the guard's screen shows besides a verdict.
PROMPTS = {"measure": "请测体温", "check_card": "离线核验，请核对证件", "denied": "禁止"}
#: Players tried in this order; "{}" is the clip's path.
PLAYERS = (("paplay", "{}"), ("pw-play", "{}"), ("aplay", "-q", "{}"), ("play", "-q", "{}"),
           ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet", "{}"))
#: After this many failed plays in a row (no sound device) the voice goes quiet.
MAX_FAILURES = 3


def phrases() -> dict[str, str]:
    """Clip name -> the words: one per reason code, one per prompt."""
    out = {}
    for code, (zh, _) in REASONS.items():
        out[code] = SPOKEN.get(code) or "禁止，" + re.sub(r"（[^）]*）", "", zh)
    return {**out, **PROMPTS}


def clip_name(reason: str, allowed: bool, offline: bool, named: bool) -> str:
    """The clip for a verdict: its reason; an offline allow without a name (the guard must
    look at the card) says so; a reason this scanner does not know yet, just the verdict."""
    if allowed and offline and not named:
        return "check_card"
    if reason == "TEMPERATURE_REQUIRED":
        return "measure"  # the prompt the yellow box shows
    if reason in REASONS:
        return reason
    return "OK" if allowed else "denied"


def voice_dir() -> Path:
    """The clips' cache: ``${XDG_CACHE_HOME:-~/.cache}/gatepass-scanner/voice``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gatepass-scanner" / "voice"


def clip_path(folder: Path, name: str, words: str) -> Path:
    """The file of one clip; its name changes with the words, voice and speed, so a changed
    wording is made afresh instead of an old clip being played."""
    digest = hashlib.sha1(f"{VOICE}|{SPEED}|{words}".encode()).hexdigest()[:10]
    return folder / f"{name}-{digest}.wav"


def render(words: str, path: Path) -> bool:
    """Make one clip (a WAV file) with espeak-ng, trimmed and levelled by sox if present;
    False when there is no engine or it failed."""
    engine = shutil.which("espeak-ng")
    if not engine:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw, done = Path(tmp) / "raw.wav", Path(tmp) / "done.wav"
        try:
            subprocess.run([engine, "-v", VOICE, "-s", str(SPEED), "-w", str(raw), words],
                           check=True, capture_output=True, timeout=30)
            sox = shutil.which("sox")
            if sox:  # leading and trailing silence off, peak at -3 dB
                subprocess.run([sox, str(raw), str(done), "silence", "1", "0.02", "1%",
                                "reverse", "silence", "1", "0.02", "1%", "reverse", "norm", "-3"],
                               check=True, capture_output=True, timeout=30)
            os.replace(done if sox else raw, path)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("voice: could not make %s: %s", path.name, exc)
            return False
    return True


def render_all(folder: Optional[Path] = None) -> dict[str, Path]:
    """Every clip made (those already there are kept); name -> file."""
    folder = folder or voice_dir()
    made = {}
    for name, words in phrases().items():
        path = clip_path(folder, name, words)
        if path.exists() or render(words, path):
            made[name] = path
    return made


def find_player() -> Optional[list[str]]:
    for cmd in PLAYERS:
        if shutil.which(cmd[0]):
            return list(cmd)
    return None


class Voice(threading.Thread):
    """Says clips on its own thread; ``say`` never waits."""

    def __init__(self, folder: Optional[Path] = None, player: Optional[list[str]] = None,
                 repeat_within: float = REPEAT_WITHIN):
        super().__init__(name="voice", daemon=True)
        self.folder = folder or voice_dir()
        self.player = player or find_player()
        self.repeat_within = repeat_within
        self.phrases = phrases()
        self.available = bool(self.player) and bool(shutil.which("espeak-ng"))
        self.spoken: list[str] = []  # clips handed to the player, in order
        self.failures = 0
        self._queue: queue.Queue = queue.Queue()
        self._last: tuple[str, float] = ("", float("-inf"))
        if not self.available:
            log.info("voice: no %s: the gate stays silent",
                     "player" if not self.player else "espeak-ng")

    def say(self, name: str) -> bool:
        """Queue a clip; False (nothing said) when the voice is unavailable, the clip is
        unknown, or the same clip was just said. A newer clip replaces one still waiting."""
        now = time.monotonic()
        if not self.available or name not in self.phrases:
            return False
        if name == self._last[0] and now - self._last[1] < self.repeat_within:
            return False
        self._last = (name, now)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(name)
        return True

    def stop(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        for name in self.phrases:  # make missing clips now, not at the first verdict
            if not self._queue.empty():
                break
            self._clip(name)
        while True:
            name = self._queue.get()
            if name is None:
                return
            try:
                self._play(name)
            except Exception:  # noqa: BLE001 - the voice must never stop the gate
                log.exception("voice: %s failed", name)

    def _clip(self, name: str) -> Optional[Path]:
        words = self.phrases[name]
        path = clip_path(self.folder, name, words)
        return path if path.exists() or render(words, path) else None

    def _play(self, name: str) -> None:
        path = self._clip(name)
        if path is None or not self.available:
            return
        args = [str(path) if a == "{}" else a for a in self.player]
        if "{}" not in self.player:
            args.append(str(path))
        self.spoken.append(name)
        try:
            ok = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=15).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        self.failures = 0 if ok else self.failures + 1
        if self.failures >= MAX_FAILURES:
            self.available = False  # no sound device: quiet from now on, beeps stand in
            log.info("voice: %s keeps failing; the gate stays silent", self.player[0])
