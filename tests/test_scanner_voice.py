"""The gate speaks (issue 19 §3): a Mandarin clip per reason code and per prompt, made
offline with espeak-ng, said on a thread of its own, never twice in a row within a moment.

Every clip is rendered for real and measured with sox; the player is a real program too
(sox playing into its null device), so nothing here needs a sound card.
"""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from gatepass.verdict import REASONS
from scanner import voice
from scanner_helpers import wait_for

needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox (Makefile APT_PACKAGES) not installed")


def sox_stat(path) -> dict[str, float]:
    """sox's ``stat`` of a sound file: length in seconds, RMS and maximum amplitude."""
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True,
                         check=True).stderr
    values = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        try:
            values[" ".join(key.split())] = float(value)
        except ValueError:
            pass
    return values


@needs_tools
def test_every_reason_and_prompt_renders_as_a_short_clip_of_real_speech(tmp_path):
    made = voice.render_all(tmp_path)
    assert set(made) == set(REASONS) | set(voice.PROMPTS)
    for name, path in made.items():
        stat = sox_stat(path)
        assert 0.3 <= stat["Length (seconds)"] <= 4.0, (name, stat)
        assert stat["RMS amplitude"] > 0.03, (name, stat)  # speech, not silence
        assert stat["Maximum amplitude"] > 0.3, (name, stat)
    assert voice.phrases()["REVOKED"] == "禁止，通行证已作废"
    assert voice.phrases()["OK"] == "通过"
    again = voice.render_all(tmp_path)  # made once: a second run keeps the files
    assert {n: p.stat().st_mtime for n, p in again.items()} == \
        {n: p.stat().st_mtime for n, p in made.items()}


@needs_tools
def test_saying_never_waits_and_a_verdict_just_said_is_not_said_again(tmp_path):
    player = [shutil.which("sox"), "-q", "{}", "-n"]  # a real player, into the null device
    v = voice.Voice(tmp_path, player=player, repeat_within=1.0)
    v.start()
    try:
        t0 = time.perf_counter()
        assert v.say("OK")  # the clip is still being made: say() does not wait for it
        assert time.perf_counter() - t0 < 0.05
        assert not v.say("OK")  # just said
        assert wait_for(lambda: v.spoken == ["OK"], 20)
        assert v.say("REVOKED")  # another verdict is said at once
        assert wait_for(lambda: v.spoken == ["OK", "REVOKED"], 20)
        time.sleep(1.1)
        assert v.say("REVOKED")  # the moment has passed: the next person hears it
        assert wait_for(lambda: v.spoken == ["OK", "REVOKED", "REVOKED"], 20)
        assert not v.say("NO_SUCH_REASON")
    finally:
        v.stop()
        v.join(5)


@needs_tools
def test_without_a_sound_device_the_voice_goes_quiet_and_never_fails(tmp_path):
    v = voice.Voice(tmp_path, player=["/nonexistent/player"], repeat_within=0)
    v.start()
    try:
        for name in ("OK", "REVOKED", "FEVER", "OK"):
            v.say(name)
            wait_for(lambda: v._queue.empty(), 10)
        assert wait_for(lambda: not v.available, 20)
        assert not v.say("REVOKED")  # quiet from now on: the beeps stand in
        assert v.is_alive()
    finally:
        v.stop()
        v.join(5)


def test_the_clip_for_a_verdict():
    assert voice.clip_name("REVOKED", False, False, True) == "REVOKED"
    assert voice.clip_name("OK", True, True, False) == "check_card"  # offline, no name
    assert voice.clip_name("OK", True, True, True) == "OK"
    assert voice.clip_name("TEMPERATURE_REQUIRED", False, False, True) == "measure"
    assert voice.clip_name("SOMETHING_NEW", False, False, False) == "denied"  # just 禁止
