"""The scanner's beeps: two rising for allow, a low triple buzz for deny.

Played by a system player (paplay, aplay, pw-play, afplay) as a child process that is never
waited for, else the terminal bell: a missing or busy sound device never holds up a scan.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

def _tone_wav(path: Path, notes: list[tuple[float, float]], volume: float = 0.6) -> None:
    rate = 22050
    chunks = []
    for freq, secs in notes:
        t = np.arange(int(rate * secs)) / rate
        if freq <= 0:
            chunks.append(np.zeros_like(t))
            continue
        tone = np.sin(2 * np.pi * freq * t)
        if freq < 500:  # the deny buzz: a harsh square-ish wave, unmistakable
            tone = np.clip(tone * 3, -1, 1)
        ramp = np.minimum(1, np.minimum(t, t[::-1]) / 0.01)  # no clicks
        chunks.append(tone * ramp)
    data = (np.concatenate(chunks) * volume * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


class Sound:
    """Two rising beeps for allow, a low triple buzz for deny; never blocks, never raises."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.player = next((shutil.which(p) for p in ("paplay", "aplay", "pw-play", "afplay")
                            if shutil.which(p)), None)
        self._procs: list[subprocess.Popen] = []
        self.files: dict[bool, Path] = {}
        if enabled and self.player:
            try:
                folder = Path(tempfile.mkdtemp(prefix="gatepass-sound-"))
                self.files[True] = folder / "allow.wav"
                self.files[False] = folder / "deny.wav"
                _tone_wav(self.files[True], [(880, 0.12), (0, 0.04), (1320, 0.18)])
                _tone_wav(self.files[False], [(220, 0.18), (0, 0.07)] * 3)
            except OSError:
                self.files = {}

    def play(self, allowed: bool) -> None:
        if not self.enabled:
            return
        self._procs = [p for p in self._procs if p.poll() is None]  # reap finished players
        path = self.files.get(allowed)
        try:
            if path and self.player and len(self._procs) < 3:
                args = [self.player, str(path)]
                if os.path.basename(self.player) == "aplay":
                    args.insert(1, "-q")
                self._procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL))
            else:
                sys.stderr.write("\a" if allowed else "\a\a")
                sys.stderr.flush()
        except OSError:
            pass
