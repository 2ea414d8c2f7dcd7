"""The guard's screen, keys, cooldown and sources, without a window or a service."""
from __future__ import annotations

import io
import time

import cv2
import numpy as np
import pytest

from scanner.drawing import DENY, HEIGHT, WIDTH, find_font
from scanner.gate import Cooldown
from scanner.keyboard import KeyInput
from scanner.screen import ScreenState, Shown, render
from scanner.sound import Sound
from scanner.sources import CameraSource, ImageSource, LineSource, VideoSource, open_source
from scanner.window import save_png

HOLDER = {"name": "张*丰", "address": "3号楼2单元301", "category": "resident",
          "category_label": "居民", "code": "P000123-1"}


def shown(allowed=True, offline=False, **kw) -> Shown:
    return Shown(nonce="n", text="GPS.x", allowed=allowed, reason="OK" if allowed else "REVOKED",
                 message="通过" if allowed else "通行证已作废", holder=HOLDER, offline=offline,
                 direction="in", scanned_at="2026-03-01T04:00:00+08:00", source_index=0, **kw)


def banner_colour(image) -> np.ndarray:
    """Median colour of the verdict banner's left edge (BGR)."""
    return np.median(image[20:360, 5:20].reshape(-1, 3), axis=0)


def camera_frame() -> np.ndarray:
    frame = np.full((720, 1280, 3), 80, np.uint8)
    frame[300:400, 600:700] = 255
    return frame


def test_allow_and_deny_screens_are_green_and_red_with_the_code_outlined():
    state = ScreenState(gate="东门", guard="赵师傅", online=True)
    points = np.array([[600, 300], [700, 300], [700, 400], [600, 400]], np.float32)
    state.show(shown(True, points=points))
    allow = render(camera_frame(), state)
    assert allow.shape == (HEIGHT, WIDTH, 3) and allow.dtype == np.uint8
    b, g, r = banner_colour(allow)
    assert g > 100 and g > 1.5 * r and g > 1.5 * b
    # The outline is drawn in yellow on the camera picture, top right.
    cam = allow[20:268, 820:1260]
    yellow = (cam[:, :, 2] > 200) & (cam[:, :, 1] > 200) & (cam[:, :, 0] < 80)
    assert yellow.sum() > 100

    state.show(shown(False))
    deny = render(camera_frame(), state)
    b, g, r = banner_colour(deny)
    assert r > 150 and r > 2 * g and r > 2 * b
    assert tuple(int(c) for c in banner_colour(deny)[::-1]) == DENY


def test_offline_verdict_is_marked_and_idle_screen_is_neutral():
    state = ScreenState(gate="东门", online=False, pending=3)
    state.show(shown(True, offline=True))
    offline = render(None, state)
    badge = offline[290:360, 550:780]  # the amber 离线核验 badge in the banner
    amber = (badge[:, :, 2] > 200) & (badge[:, :, 1] > 150) & (badge[:, :, 0] < 60)
    assert amber.mean() > 0.3
    online = state.last.__class__(**{**state.last.__dict__, "offline": False})
    state.show(online)
    plain = render(None, state)[290:360, 550:780]
    assert ((plain[:, :, 2] > 200) & (plain[:, :, 1] > 150) & (plain[:, :, 0] < 60)).mean() < 0.05

    idle = render(None, state, at=time.monotonic() + state.hold + 1)  # the verdict has expired
    b, g, r = banner_colour(idle)
    assert max(b, g, r) - min(b, g, r) < 40  # grey-blue, neither green nor red


def test_screen_can_be_saved_and_uses_a_chinese_font(tmp_path):
    path, index = find_font()
    assert path is not None  # fonts-noto-cjk is one of the Makefile's system packages
    if path.endswith(".ttc"):
        from PIL import ImageFont
        assert "SC" in ImageFont.truetype(path, 12, index=index).getname()[0]
    state = ScreenState()
    state.show(shown(False, temperature=37.6))
    save_png(render(camera_frame(), state), tmp_path / "deny.png")
    assert cv2.imread(str(tmp_path / "deny.png")).shape == (HEIGHT, WIDTH, 3)


def test_sound_never_blocks_or_raises_even_without_audio():
    sound = Sound(enabled=True)
    sound.play(True)
    sound.play(False)
    Sound(enabled=False).play(True)


def test_the_same_pass_held_up_is_scanned_once_and_another_at_once():
    cd = Cooldown(3.0)
    # A pass in view for 10 s at 25 frames/s: one scan.
    assert sum(cd.fresh("A", i / 25) for i in range(250)) == 1
    assert cd.fresh("B", 10.0)  # the next person: immediately
    assert not cd.fresh("A", 12.0)  # A was last seen at 9.96 s
    assert cd.fresh("A", 16.0)  # gone for more than 3 s: a new scan


def test_keys_switch_direction_enter_temperature_and_take_wedge_text():
    keys = KeyInput()

    def typed(text: str):
        out = [keys.feed(ord(c)) for c in text]
        return [a for a in out if a is not None]

    assert typed("o") == [("direction", "out")]
    assert typed("i") == [("direction", "in")]
    assert keys.feed(9) == ("toggle",)
    assert typed("365\r") == [("temperature", 36.5)]
    assert typed("36.8\r") == [("temperature", 36.8)]
    assert typed("99\r") == [("invalid", "99")]
    assert typed("GPS.k1.1.1.oqiq\r") == [("text", "GPS.k1.1.1.oqiq")]  # q inside: not quit
    assert typed("12") == [] and keys.feed(27) is None and keys.buffer == ""  # Esc clears
    assert keys.feed(27) == ("quit",)
    assert typed("q") == [("quit",)]


def test_stdin_lines_are_texts_numbered_by_line():
    source = LineSource(io.StringIO("GPS.a\n\n  GPS.b \r\nhttps://x\n"))
    items = [i for i in source if i is not None]
    assert [(i.index, i.text) for i in items] == [(1, "GPS.a"), (3, "GPS.b"), (4, "https://x")]
    assert all(i.frame is None for i in items) and source.finite


def test_video_source_yields_every_frame_in_order(tmp_path):
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for k in range(9):
        writer.write(np.full((120, 160, 3), 20 + 25 * k, np.uint8))
    writer.release()
    items = list(open_source(str(path)))
    assert [i.index for i in items] == list(range(9))
    assert [round(float(i.frame.mean()) / 25) for i in items] == [round((20 + 25 * k) / 25)
                                                                  for k in range(9)]
    assert items[5].t == pytest.approx(5 / 25)
    assert isinstance(open_source(str(path)), VideoSource)


def test_image_folder_is_read_in_name_order(tmp_path):
    for name, value in (("b.png", 200), ("a.jpg", 100), ("c.txt", 0), ("门.png", 50)):
        if name.endswith(".txt"):
            (tmp_path / name).write_text("not an image")
        else:
            image = np.full((40, 40, 3), value, np.uint8)
            cv2.imencode(name[-4:], image)[1].tofile(tmp_path / name)
    source = open_source(str(tmp_path))
    assert isinstance(source, ImageSource)
    assert [round(float(i.frame.mean()), -1) for i in source] == [100, 200, 50]
    with pytest.raises(FileNotFoundError):
        open_source(str(tmp_path / "missing.avi"))


def test_camera_source_hands_out_the_newest_frame_and_stops_promptly(tmp_path):
    """A video file stands in for the webcam (OpenCV opens both the same way)."""
    path = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for k in range(50):
        writer.write(np.full((120, 160, 3), k * 5, np.uint8))
    writer.release()
    source = CameraSource(str(path))
    assert not source.finite
    got = []
    deadline = time.monotonic() + 20
    for item in source:
        if item is not None:
            got.append(item.index)
        if len(got) == 5 or time.monotonic() > deadline:
            break
    started = time.monotonic()
    source.close()
    assert len(got) == 5 and got == sorted(set(got))  # never the same frame twice
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- gate duty keys

def amber_share(image, box) -> float:
    x0, y0, x1, y1 = box
    part = image[y0:y1, x0:x1]
    return float(((part[:, :, 2] > 200) & (part[:, :, 1] > 150) & (part[:, :, 0] < 60)).mean())


def test_fever_and_temperature_required_screens(tmp_path):
    state = ScreenState(gate="东门", guard="王师傅", online=True)
    state.show(Shown(nonce="n", text="GPS.x", allowed=False, reason="FEVER",
                     message="体温异常，请复测并联系社区医生", holder=HOLDER, offline=False,
                     direction="in", scanned_at="2026-03-01T04:00:00+08:00", source_index=0,
                     temperature=38.5))
    fever = render(camera_frame(), state)
    b, g, r = banner_colour(fever)
    assert r > 150 and r > 2 * g
    reading = fever[400:460, 560:780]  # 38.5℃ in red beside the name
    assert ((reading[:, :, 2] > 150) & (reading[:, :, 1] < 80)).sum() > 200
    save_png(fever, tmp_path / "fever.png")

    state.awaiting_temperature = True
    state.show(Shown(nonce="m", text="GPS.y", allowed=False, reason="TEMPERATURE_REQUIRED",
                     message="请先测量体温", holder=HOLDER, offline=False, direction="in",
                     scanned_at="2026-03-01T04:01:00+08:00", source_index=1))
    prompt = render(camera_frame(), state)
    assert amber_share(prompt, (40, 400, 760, 600)) > 0.5  # the big 请测体温 box
    # it stays up while the guard measures, well past the usual hold
    assert state.showing(at=state.shown_at + state.hold + 10) is state.last
    state.awaiting_temperature = False
    assert amber_share(render(camera_frame(), state), (40, 400, 760, 600)) < 0.05


def test_idle_screen_has_the_key_legend_and_modes_prompt(tmp_path):
    state = ScreenState(gate="东门", guard="王师傅", online=True)
    idle = render(camera_frame(), state)
    caps = idle[400:620, 40:760]
    keycap = (np.abs(caps.astype(int) - (80, 72, 60)).sum(axis=2) < 10).mean()  # BGR KEYCAP
    assert keycap > 0.05  # six key caps
    state.mode, state.typed = "turn_away", "t"
    prompt = render(camera_frame(), state)
    box = prompt[420:640, 40:760]
    assert (np.abs(box.astype(int) - (90, 60, 40)).sum(axis=2) < 10).mean() > 0.4
    save_png(prompt, tmp_path / "turn-away.png")


def test_keys_for_the_logbook_duty_and_wedge_capitals():
    keys = KeyInput()

    def typed(text: str):
        return [a for a in (keys.feed(c) for c in text) if a is not None]

    assert typed("t1") == [("event", "turn_away", {"reason": "outsider"}, "")]  # no Enter
    assert typed("x3") == [("event", "incident", {"type": "refused_registration"}, "")]
    assert typed("c") == [] and keys.mode == "courier"
    assert typed("12\r") == [("event", "courier", {"parcels": 12}, "")]
    assert typed("g12") == [] and keys.mode == "sign_on" and keys.shown() == "g ●●"
    assert typed("34\r") == [("sign_on", "1234")]
    assert typed("s 一切正常\r") == [("sign_off", "一切正常")]
    assert typed("GPS.k1.1.1.tx1c\r") == [("text", "GPS.k1.1.1.tx1c")]  # a wedge's capitals
    assert typed("1234\r") == [("invalid", "1234")]  # digits only: not a pass, not sent
    assert typed("440\r") == [("invalid", "440")]  # 44.0 ℃ is above TEMPERATURE_MAX
    assert typed("335\r") == [("invalid", "335")]  # 33.5 ℃ is below TEMPERATURE_MIN
    assert keys.feed(ord("t")) is None and keys.feed(27) is None and keys.buffer == ""


def test_typed_lines_from_a_hand_scanner_or_stdin():
    from scanner.keyboard import parse_line
    assert parse_line("t4 拒绝测温") == ("event", "turn_away",
                                      {"reason": "refused_temperature"}, "拒绝测温")
    assert parse_line("c") == ("event", "courier", {}, "")
    assert parse_line("o") == ("direction", "out")
    assert parse_line("36.6") == ("temperature", 36.6)
    assert parse_line("g12") == ("invalid", "g12")  # a PIN has 4-8 digits
    assert parse_line("https://qr.alipay.com/x") == ("text", "https://qr.alipay.com/x")
    assert parse_line("t1abc") == ("text", "t1abc")  # a foreign code, not a turn-away
    assert parse_line("   ") is None


def column_colour(image: np.ndarray, x0: int, x1: int) -> tuple[int, int, int]:
    """Median RGB of a family column's upper part."""
    b, g, r = np.median(image[120:160, x0:x1].reshape(-1, 3), axis=0)
    return int(r), int(g), int(b)


def test_a_family_is_shown_side_by_side_worst_first_in_red():
    """Three passes read in one frame: three columns, the denied one first and red, each
    with its holder; the camera picture outlines all three codes."""
    state = ScreenState(gate="东门", online=True)
    family = [shown(False), shown(True), shown(True)]
    for n, one in enumerate(family):
        one.group, one.group_index = 3, n
        one.points = np.array([[100 + 400 * n, 300], [300 + 400 * n, 300],
                               [300 + 400 * n, 500], [100 + 400 * n, 500]], np.float32)
    state.show_all(family)
    image = render(np.full((720, 1280, 3), 80, np.uint8), state)
    red, green1, green2 = (column_colour(image, x, x + 200) for x in (20, 290, 560))
    assert red[0] > 150 and red[0] > 2 * red[1]
    assert all(g[1] > 100 and g[1] > 1.5 * g[0] for g in (green1, green2))
    cam = image[20:268, 820:1260]
    yellow = (cam[:, :, 2] > 200) & (cam[:, :, 1] > 200) & (cam[:, :, 0] < 80)
    columns = np.nonzero(yellow.any(axis=0))[0]
    assert columns.max() - columns.min() > 300  # outlines from the left to the right code
    assert [h.reason for h in state.history[:3]] == ["REVOKED", "OK", "OK"]
    assert state.family(state.showing()) == family

    state.show(shown(True))  # the next person alone: one verdict across the panel again
    assert state.family(state.showing()) == []
    assert column_colour(render(None, state), 560, 760)[1] > 100
