"""The scanner's decoders and chain on codes rendered here and "photographed" by OpenCV.

Each scene is a pass rendered with the `qrcode` package (a printed card or a phone screen),
warped into a gate-camera frame and degraded the way a webcam degrades it; the chain must
return the exact text, and its corners must outline the code in the frame.
"""
from __future__ import annotations

import os
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from scanner import chain as chain_mod
from scanner.chain import DEFAULT_BUDGET_MS, DEFAULT_STEPS, DecoderChain, Step, decode_frame
from scanner import deblur as deblur_mod
from scanner.deblur import cepstral_smear, estimate_blur, focus_sigma, has_glare
from scanner.regions import code_box, find_regions
from scanner.decoders import (DECODERS, PREPROCESSORS, SINGLE_DECODERS, DecodeResult, View,
                              bytes_to_text, clean_text)

TOKEN = "GP1.eyJwIjo0MiwiZyI6Im5vcnRoIn0.q8Zx-1vT_kLmN2pR7sYw3Aa"
LONG = "GP1." + "x7Qa-9_kLmN2pR7sYw3AaBcD" * 5  # ~125 chars: a dense code, like a dynamic pass
#: The chain without the code's own box, and without the grid fitted to the code's outline,
#: which came after it and reads the same shaken codes.
BEFORE_CODE_BOX = [s for s in DEFAULT_STEPS
                   if "code-box" not in s.pipeline and "outline" not in s.pipeline]
rng = np.random.default_rng(20240601)


# --------------------------------------------------------------------------- scenes

def modules(text: str) -> np.ndarray:
    """The QR matrix (True = dark) without quiet zone, from the qrcode package."""
    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def card(text: str, box: int = 8, quiet: int = 4) -> tuple[np.ndarray, int, int]:
    """A printed card: black modules on white paper. Returns (image, symbol offset, size)."""
    m = modules(text)
    img = np.where(m, 20, 235).astype(np.uint8)
    img = cv2.resize(img, None, fx=box, fy=box, interpolation=cv2.INTER_NEAREST)
    pad = quiet * box
    img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=235)
    return img, pad, m.shape[0] * box


def phone(text: str, dark: bool = False, box: int = 8) -> tuple[np.ndarray, int, int]:
    """A phone screen: a backlit code inside a dark bezel, with the screen's pixel grid.

    `dark` is a dark-mode wallet app: light modules on a black screen.
    """
    code, off, size = card(text, box=box, quiet=3)
    screen = np.where(code < 128, 15, 250).astype(np.uint8) if not dark else \
        np.where(code < 128, 235, 10).astype(np.uint8)
    grid = np.ones_like(screen, dtype=np.float32)
    grid[::3, :] = 0.8
    grid[:, ::3] *= 0.8
    screen = (screen * grid).astype(np.uint8)
    bezel = 6 * box
    body = cv2.copyMakeBorder(screen, bezel * 2, bezel * 3, bezel, bezel,
                              cv2.BORDER_CONSTANT, value=30)
    return body, off + bezel, size, (off + bezel, off + 2 * bezel)


def photograph(art: np.ndarray, symbol_xy: tuple[int, int], size: int, *, frame=(720, 1280),
               centre=(640, 360), width=300, tilt=0.0, angle=0.0, bg=110):
    """Warp `art` into a camera frame; returns (frame, the symbol's 4 corners in the frame)."""
    h, w = art.shape
    scale = width / w
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    pts = (src - [w / 2, h / 2]) * scale
    pts[:, 0] *= 1.0 - tilt * (pts[:, 1] / (h * scale))  # one edge nearer the camera
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], dtype=np.float32)
    dst = (pts @ rot.T + centre).astype(np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)
    yy, xx = np.mgrid[0:frame[0], 0:frame[1]]
    background = (bg + 12 * np.sin(xx / 97.0) + 8 * np.cos(yy / 61.0)).astype(np.uint8)
    out = cv2.warpPerspective(art, hom, (frame[1], frame[0]), dst=background.copy(),
                              flags=cv2.INTER_AREA, borderMode=cv2.BORDER_TRANSPARENT)
    x, y = symbol_xy
    sym = np.float32([[[x, y], [x + size, y], [x + size, y + size], [x, y + size]]])
    return out, cv2.perspectiveTransform(sym, hom)[0]


def noisy(img: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def shake(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    k = np.zeros((length + 2, length + 2), np.float32)
    c = (length + 1) / 2
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    cv2.line(k, (round((c - dx) * 16), round((c - dy) * 16)),
             (round((c + dx) * 16), round((c + dy) * 16)), 1.0, 1, cv2.LINE_AA, 4)
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def card_scene(text=TOKEN, **kw):
    art, off, size = card(text)
    return photograph(art, (off, off), size, **kw)


def phone_scene(text=TOKEN, dark=False, **kw):
    art, _, size, xy = phone(text, dark=dark)
    return photograph(art, xy, size, **kw)


def assert_outlines(points: np.ndarray, corners: np.ndarray, tolerance: float) -> None:
    """Every returned corner lies near a true corner of the symbol (any order)."""
    assert points is not None and np.asarray(points).shape == (4, 2)
    for p in np.asarray(points):
        assert np.min(np.linalg.norm(corners - p, axis=1)) < tolerance, (points, corners)


# --------------------------------------------------------------------------- decoders alone

@pytest.mark.parametrize("name", SINGLE_DECODERS)
def test_each_decoder_reads_a_printed_card(name):
    frame, corners = card_scene(width=360, angle=8)
    results = DECODERS[name](frame)
    assert [r.text for r in results] == [TOKEN]
    assert_outlines(results[0].points, corners, tolerance=12)


@pytest.mark.parametrize("name", ["zxing", "zbar"])
def test_text_is_decoded_as_utf8(name):
    text = "Пропуск №42 — 门禁 · Gate B"
    frame, _ = card_scene(text, width=360)
    assert [r.text for r in DECODERS[name](frame)] == [text]


def test_text_helpers():
    assert clean_text("a\r\nb\rc\nd") == "a\nb\nc\nd"
    assert bytes_to_text("пропуск".encode()) == "пропуск"
    assert bytes_to_text(b"\xff\xfeGP") == "\xff\xfeGP"  # not UTF-8: every byte kept


GARBAGE = {
    "noise": lambda: rng.integers(0, 256, (480, 640), dtype=np.uint8),
    "empty": lambda: np.zeros((0, 0), np.uint8),
    "1x1": lambda: np.zeros((1, 1), np.uint8),
    "thin": lambda: np.full((1, 2000), 255, np.uint8),
    "colour": lambda: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
    "bgra": lambda: rng.integers(0, 256, (100, 120, 4), dtype=np.uint8),
    "5-channel": lambda: np.zeros((50, 50, 5), np.uint8),
    "float": lambda: rng.random((200, 200)),
    "nan": lambda: np.full((64, 64), np.nan),
    "bool": lambda: rng.random((64, 64)) > 0.5,
    "4-d": lambda: np.zeros((2, 30, 30, 3), np.uint8),
    "non-contiguous": lambda: rng.integers(0, 256, (400, 600), dtype=np.uint8)[::2, ::3],
    "huge": lambda: np.full((5000, 7000), 200, np.uint8),
    "not an array": lambda: [[0, 255], [255, 0]],
    "none": lambda: None,
}


@pytest.mark.parametrize("kind", GARBAGE)
def test_decoders_never_raise(kind):
    image = GARBAGE[kind]()
    for name, decode in DECODERS.items():
        assert decode(image) == [], name


@pytest.mark.parametrize("kind", ["noise", "empty", "1x1", "colour", "float", "none", "nan"])
def test_chain_never_raises(kind):
    result = DecoderChain(budget_ms=None).decode(GARBAGE[kind]())
    assert result.text is None and result.points is None and result.step_name is None


@pytest.mark.parametrize("dtype", ["uint16", "float01", "int32"])
def test_other_pixel_depths_are_read(dtype):
    frame, _ = card_scene()
    image = {"uint16": frame.astype(np.uint16) * 257,  # a 16-bit sensor
             "float01": frame / 255.0,
             "int32": frame.astype(np.int32) * 16}[dtype]  # 12-bit data in a wide type
    assert [r.text for r in DECODERS["zxing"](image)] == [TOKEN]


def test_preprocessors_keep_views_mappable():
    """Each preprocessor either declines or returns uint8 views whose mapping round-trips."""
    frame, corners = card_scene(width=200, angle=20)
    root = View(frame)
    for name, prep in PREPROCESSORS.items():
        for v in prep(root):
            v = v() if callable(v) else v  # a deferred candidate
            if v is None:
                continue  # which may decline once computed (a flat card shows no crease)
            assert v.image.dtype == np.uint8 and v.image.ndim == 2, name
            # a view pixel maps back into the frame, inside its bounds
            h, w = v.image.shape
            back = v.to_frame(np.float32([[0, 0], [w, h]]))
            assert (back >= -1).all() and back[1, 0] <= 1281 and back[1, 1] <= 721, name


def test_regions_find_a_far_code():
    frame, corners = card_scene(LONG, width=110, centre=(1000, 200))
    boxes = PREPROCESSORS["regions"](View(frame))
    assert boxes, "no region found"
    x, y = boxes[0].offset
    h, w = boxes[0].image.shape
    assert x <= corners[:, 0].min() and corners[:, 0].max() <= x + w
    assert y <= corners[:, 1].min() and corners[:, 1].max() <= y + h


def test_blur_estimate_finds_hand_shake_direction_and_length():
    frame, corners = card_scene(LONG, width=300)
    crop = shake(frame, 9, 60)[200:520, 480:800]
    length, angle, anisotropy = estimate_blur(crop)
    assert anisotropy > 0.2
    assert abs(length - 9) <= 2
    assert abs(((np.degrees(angle) - 60) + 90) % 180 - 90) < 12


@pytest.mark.parametrize("length, angle", [(9, 60), (12, 15), (16, 150)])
def test_the_cepstrum_finds_a_smear_and_not_the_module_grid(length, angle):
    """A shaken card: the cepstrum names the smear's length and direction.  The sharp card
    has dips too, at its module pitch along both of the code's axes: taken for the grid,
    they give no smear at all."""
    frame, corners = card_scene(LONG, width=300)
    crop = noisy(shake(frame, length, angle), 2.0)[200:520, 480:800]
    found, direction = cepstral_smear(crop)
    assert abs(found - length) <= 1.5, found
    assert abs(((np.degrees(direction) - angle) + 90) % 180 - 90) <= 4
    assert cepstral_smear(noisy(frame[200:520, 480:800], 2.0)) is None


def test_a_shake_the_structure_tensor_misjudges_is_read_by_the_cepstrums_guess(monkeypatch):
    """A generated shaken pass (make_gate_frames.py, development seed 6): the direction the
    structure tensor measures is pulled off by the code's edges and no step of the chain
    before the last two reads it; deblurred along the cepstrum's direction too, it is read.
    (The last two, deblurring the code in its own box, measure the blur on the code alone
    and read it too: no development seed of 0-119 needs the cepstrum in a chain without a
    budget since, but `chain-still` reads this one in 15 ms with it, 135 ms without.)"""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import make_gate_frames as gen
    frame, text, _ = gen.render(np.random.default_rng(6), "motion")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    result = DecoderChain(["regions,deblur>zxing"], budget_ms=None).decode(gray)
    assert result.text == text
    monkeypatch.setattr(deblur_mod, "cepstral_smear", lambda crop: None)
    assert DecoderChain(BEFORE_CODE_BOX, budget_ms=None).decode(gray).text != text


def test_a_shaken_code_in_a_crop_around_the_whole_card_is_deblurred_in_its_own_box():
    """A generated shaken pass (development seed 119): its regions box holds the card and
    more (556 x 720 px), so deblurred at 480 px its modules shrink and no step reads it.
    The code's own box, found in the first deblurred guess, holds the whole code in a
    fraction of the crop, and deblurred there the code is read, its corners where it is."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import make_gate_frames as gen
    trace: dict = {}
    frame, text, _ = gen.render(np.random.default_rng(119), "motion", trace)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x0, y0, x1, y1 = find_regions(gray)[0]
    crop = View(gray).derive(gray[y0:y1, x0:x1], crop_xy=(x0, y0))
    (box,) = code_box(crop)
    quad = trace["quad"]
    (bx, by), (bh, bw) = box.offset, box.image.shape
    assert bx <= quad[:, 0].min() and quad[:, 0].max() <= bx + bw
    assert by <= quad[:, 1].min() and quad[:, 1].max() <= by + bh
    assert bh * bw < 0.25 * (x1 - x0) * (y1 - y0)
    assert DecoderChain(BEFORE_CODE_BOX, budget_ms=None).decode(gray).text != text
    result = DecoderChain(["regions,code-box,deblur>zxing"], budget_ms=None).decode(gray)
    assert result.text == text
    assert np.linalg.norm(result.points.mean(axis=0) - quad.mean(axis=0)) < 10
    assert code_box(View(gray[:200, :200])) == []  # small enough to deblur whole


@pytest.mark.parametrize("sigma", [2.0, 3.5, 5.0])
def test_focus_blur_estimate_follows_the_blur(sigma):
    """The focus estimate tracks a known Gaussian blur (it aims ~15 % low, see its
    docstring) and calls the sharp code sharp."""
    frame, corners = card_scene(LONG, width=420)
    crop = frame[120:600, 400:880]
    assert focus_sigma(crop) < 0.9
    estimate = focus_sigma(noisy(cv2.GaussianBlur(crop, (0, 0), sigma), 2.0))
    assert 0.65 * sigma <= estimate <= 1.15 * sigma, estimate


def test_focus_deblurring_reads_an_out_of_focus_card():
    frame, corners = card_scene(LONG, width=360)
    blurred = noisy(cv2.GaussianBlur(frame, (0, 0), 4.0), 2.0)
    assert not any(r.text == LONG for r in DECODERS["zxing"](blurred))
    result = DecoderChain(budget_ms=None).decode(blurred)
    assert result.text == LONG and "deblur" in result.step_name



def test_glare_is_a_clipped_spot_in_the_crops_middle():
    frame, _ = card_scene(LONG, width=360)
    crop = cv2.GaussianBlur(frame[120:600, 400:880], (0, 0), 3.0)
    assert not has_glare(crop)
    spot = crop.copy()
    cv2.circle(spot, (240, 240), 30, 255, -1)  # a reflection on the code
    assert has_glare(spot)
    edge = crop.copy()
    cv2.circle(edge, (10, 10), 30, 255, -1)  # a lamp beside the card is not on the code
    assert not has_glare(edge)


def test_a_glare_spot_on_a_soft_code_gets_the_low_noise_guess(monkeypatch):
    """A glare spot on a code blurred by ~0.6 module (`make_gate_frames.py` glare-blur, a
    development seed): the deblurring guesses of a code without glare miss it, the
    estimate at the lower noise-to-signal ratio reads it."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import make_gate_frames as gen
    frame, text, _ = gen.render(np.random.default_rng(136), "glare-blur")
    step = ["regions,deblur>zxing"]
    monkeypatch.setattr(deblur_mod, "GLARE_SHARE", 2.0)  # no crop has glare: main's guesses
    assert DecoderChain(step, budget_ms=None).decode(frame).text != text
    monkeypatch.undo()
    assert DecoderChain(step, budget_ms=None).decode(frame).text == text

# --------------------------------------------------------------------------- the chain

def degraded(scene, fn):
    frame, corners = scene
    return fn(frame), corners


# name -> (text encoded, scene maker)
SCENES = {
    "card straight": (TOKEN, lambda: card_scene()),
    "card tilted": (LONG, lambda: card_scene(LONG, tilt=0.45, angle=-12, width=380)),
    "card rotated 135": (TOKEN, lambda: card_scene(angle=135)),
    "card out of focus": (LONG, lambda: degraded(
        card_scene(LONG, width=330), lambda f: cv2.GaussianBlur(f, (0, 0), 3.0))),
    "card noisy, dim": (TOKEN, lambda: degraded(
        card_scene(width=320), lambda f: noisy((f * 0.35).astype(np.uint8), 6))),
    "card far away": (TOKEN, lambda: degraded(
        card_scene(width=90, centre=(900, 250), angle=7),
        lambda f: noisy(cv2.GaussianBlur(f, (0, 0), 1.0), 3))),
    "card shaken": (LONG, lambda: degraded(
        card_scene(LONG, width=300, angle=5), lambda f: shake(f, 12, 70))),
    "card jpeg": (LONG, lambda: degraded(card_scene(LONG, width=320), lambda f: jpeg(f, 12))),
    "phone": (TOKEN, lambda: phone_scene(width=260, angle=-6)),
    "phone dark mode": (TOKEN, lambda: phone_scene(dark=True, width=260, angle=4)),
    "phone dark mode tilted, noisy": (LONG, lambda: degraded(
        phone_scene(LONG, dark=True, width=300, tilt=0.3, angle=30), lambda f: noisy(f, 5))),
    "phone small 640x480": (TOKEN, lambda: phone_scene(frame=(480, 640), centre=(200, 260),
                                                       width=150)),
}


@pytest.mark.parametrize("scene", SCENES)
def test_chain_reads_photographed_passes(scene):
    text, make = SCENES[scene]
    frame, corners = make()
    result = DecoderChain(budget_ms=None).decode(frame)
    assert result.text == text
    assert result.step_name in {s.name for s in DEFAULT_STEPS}
    assert_outlines(result.points, corners, tolerance=max(8.0, 0.06 * np.ptp(corners[:, 0])))


def test_chain_accepts_colour_frames_and_gives_frame_coordinates():
    frame, corners = card_scene(LONG, width=120, centre=(900, 250))
    bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    result = decode_frame(bgr)
    assert result.text == LONG
    assert_outlines(result.points, corners, tolerance=8)


@pytest.mark.parametrize("scene", ["card far away", "card shaken", "card out of focus"])
def test_rescue_steps_read_what_the_plain_decoder_misses(scene):
    """Far, shaken and defocused codes are why the chain has more than one step."""
    text, make = SCENES[scene]
    frame, _ = make()
    assert DECODERS["zxing"](frame) == []
    result = DecoderChain(budget_ms=None).decode(frame)
    assert result.text == text and result.step_name != "zxing"


def test_chain_stops_at_first_success():
    frame, _ = card_scene()
    result = DecoderChain().decode(frame)
    assert result.text == TOKEN
    assert result.step_name == DEFAULT_STEPS[0].name
    assert result.steps_tried == 1


# fake decoders make the chain's control flow observable without timing assumptions

@pytest.fixture
def fakes(monkeypatch):
    calls: list[str] = []

    def make(name, texts=(), sleep_s=0.0):
        def fake(image):
            calls.append(name)
            time.sleep(sleep_s)
            return [DecodeResult(t, np.zeros((4, 2), np.float32)) for t in texts]
        monkeypatch.setitem(DECODERS, name, fake)
        return name

    return make, calls


def test_accept_hook_skips_foreign_codes(fakes):
    make, calls = fakes
    make("poster", ["https://pizza.example/menu"])
    make("pass", ["GP1.ours"])
    make("never")
    chain = DecoderChain(["poster", "pass", "never"], accept=lambda t: t.startswith("GP1."))
    result = chain.decode(np.zeros((100, 100), np.uint8))
    assert result.text == "GP1.ours" and result.step_name == "pass"
    assert result.rejected == ("https://pizza.example/menu",)
    assert calls == ["poster", "pass"]


@pytest.fixture
def fanout(fakes, monkeypatch):
    """A preprocessor with six deferred candidates (8 ms each); only the last one reads."""
    make, calls = fakes
    made: list[int] = []

    def prep(view):
        def one(i):
            def build():
                made.append(i)
                time.sleep(0.008)
                return view.derive(np.full((8, 8), i, np.uint8))
            return build
        return (one(i) for i in range(6))

    def probe(image):
        calls.append("probe")
        return [DecodeResult("GP1.found", np.zeros((4, 2), np.float32))] if image[0, 0] == 5 else []

    monkeypatch.setitem(PREPROCESSORS, "fanout", prep)
    monkeypatch.setitem(DECODERS, "probe", probe)
    make("first")
    return made, calls


@pytest.mark.serial  # timing: run alone (make test)
def test_carry_over_resumes_the_next_frame_where_the_budget_stopped(fanout):
    """A pass held up for several frames gets every rescue view; no frame overruns."""
    made, calls = fanout
    frame = np.zeros((50, 50), np.uint8)
    plain = DecoderChain(["first", "fanout>probe"], budget_ms=20)
    assert [plain.decode(frame).text for _ in range(4)] == [None] * 4
    assert max(made) < 5  # every frame starts over and runs out at the same place

    made.clear()
    chain = DecoderChain(["first", "fanout>probe"], budget_ms=20, carry_over=True)
    texts = []
    while "GP1.found" not in texts and len(texts) < 5:
        texts.append(chain.decode(frame).text)
    assert texts[-1] == "GP1.found" and len(texts) > 1
    assert made == [0, 1, 2, 3, 4, 5]  # stepped over, never recomputed, on later frames
    calls.clear()
    chain.decode(frame)
    assert calls[:2] == ["first", "probe"] and made[6] == 0  # found: back to the top


@pytest.mark.serial  # timing: run alone (make test)
def test_decode_still_holds_the_image_for_several_frames(fanout):
    made, calls = fanout
    chain = DecoderChain(["first", "fanout>probe"], budget_ms=20)
    result = chain.decode_still(np.zeros((50, 50), np.uint8))
    assert result.text == "GP1.found" and result.step_name == "fanout>probe"
    assert made == [0, 1, 2, 3, 4, 5]
    assert calls.count("first") == 1  # the same picture: its answer would not change
    assert result.ms >= 6 * 8 > chain.budget_ms * 2  # several frames' budgets in total
    assert chain.decode(np.zeros((50, 50), np.uint8)).text is None  # no carry-over left on


def test_a_raising_accept_hook_rejects(fakes):
    make, _ = fakes
    make("one", ["x"])

    def broken(text):
        raise RuntimeError("lookup down")

    result = DecoderChain(["one"], accept=broken).decode(np.zeros((50, 50), np.uint8))
    assert result.text is None and result.rejected == ("x",)


@pytest.mark.serial  # timing: run alone (make test)
def test_budget_skips_later_steps(fakes):
    make, calls = fakes
    make("slow", sleep_s=0.03)
    make("late", ["GP1.late"])
    frame = np.zeros((50, 50), np.uint8)
    assert DecoderChain(["slow", "late"], budget_ms=10).decode(frame).text is None
    assert calls == ["slow"]  # the first step always runs; the second would overrun
    calls.clear()
    assert DecoderChain(["slow", "late"], budget_ms=None).decode(frame).text == "GP1.late"
    assert calls == ["slow", "late"]


def test_step_specs_are_checked():
    assert Step.parse("regions,enlarge>zxing").pipeline == ("regions", "enlarge")
    with pytest.raises(KeyError):
        Step.parse("regions>nonesuch")
    with pytest.raises(KeyError):
        Step.parse("nonesuch>zxing")


def test_chain_sets_opencv_to_one_thread():
    assert chain_mod.cv2.getNumThreads() == 1


# --------------------------------------------------------------------------- shared frames

def shared_dir() -> Path:
    return Path(os.environ.get("GATEPASS_SHARED") or Path(__file__).resolve().parents[2] / "shared")


@pytest.mark.slow
@pytest.mark.serial  # timing: run alone (make test)
@pytest.mark.parametrize("name, floor", [("frames", 0.95), ("frames-real", 0.80)])
def test_chain_rate_on_shared_frames(name, floor):
    """Decode rate only: the budget is relaxed (3x) so a busy test machine cannot fail it."""
    folder = shared_dir() / name
    truth_file = folder / "truth.json"
    if not truth_file.is_file():
        pytest.skip(f"{folder} not available")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    chain = DecoderChain(budget_ms=3 * DEFAULT_BUDGET_MS)
    misses = []
    for file_name, text in sorted(truth.items()):
        frame = cv2.imread(str(folder / file_name), cv2.IMREAD_COLOR)
        if frame is None or chain.decode(frame).text != text:
            misses.append(file_name)
    rate = 1 - len(misses) / len(truth)
    assert rate >= floor, f"{rate:.1%} < {floor:.0%}; missed {misses}"


def test_a_micro_qr_code_is_not_taken_for_a_pass():
    """zxing-cpp 3 counts Micro QR as a QR code, and a code that small turns up in cloth's
    weave (a development cloth frame read as "44264"); no pass is printed as one.  A
    full-size code next to it is still read."""
    zxingcpp = pytest.importorskip("zxingcpp")
    micro = zxingcpp.create_barcode("44264", zxingcpp.BarcodeFormat.MicroQRCode)
    micro = np.asarray(micro.to_image(scale=8, add_quiet_zones=True))
    assert [r.text for r in zxingcpp.read_barcodes(micro)] == ["44264"]  # it is readable
    assert DECODERS["zxing"](micro) == [] and DecoderChain().decode_still(micro).text is None
    full = np.asarray(zxingcpp.create_barcode("GP1.pass", zxingcpp.BarcodeFormat.QRCode)
                      .to_image(scale=8, add_quiet_zones=True))
    both = np.hstack([micro, np.full((micro.shape[0], 40), 255, np.uint8),
                      cv2.resize(full, (micro.shape[0], micro.shape[0]))])
    assert [r.text for r in DECODERS["zxing"](both)] == ["GP1.pass"]
