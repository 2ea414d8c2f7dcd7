#!/usr/bin/env python3
"""Render a held-out set of gate-camera frames: QR passes the decoders have never seen.

The shared benchmark sets chose the decoder chain's steps, so they can no longer tell
whether the chain generalises.  This renders new frames from new random payloads, with its
own scenes (phone screens and printed cards on cluttered backgrounds, colour, supersampled
optics) and its own severity choices for the same named conditions, and writes them with a
`truth.json` so that `python -m scanner bench OUT` measures them.

    python scripts/make_gate_frames.py /tmp/heldout --per-condition 30 --seed 7

File names are `<condition>_<nnn>.jpg` (the bench groups by that prefix).  Besides the
shared sets' conditions it renders cards that are not flat (`bent`, `folded`, `cloth`, see
gate_surfaces.py) and `glare-blur`; seed 19 of those is the held-out set the warp was
never tuned on:

    python scripts/make_gate_frames.py /tmp/heldout-bent --per-condition 20 --seed 19 \
        --conditions bent,folded,cloth,glare-blur
"""
from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path

import cv2
import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_surfaces import SURFACES, place_surface  # noqa: E402 - a sibling script

ALPHABET = string.ascii_letters + string.digits + "._-"
B64URL = string.ascii_letters + string.digits + "_-"
B36 = string.digits + string.ascii_lowercase
EC_LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}

CONDITIONS = ("nominal", "small", "tilt", "blur", "motion", "dim", "glare", "inverted",
              "moire", "jpeg", "rotated", "combo") + SURFACES + ("glare-blur",)
#: Conditions a combo draws 2-3 of (the ones that degrade the image, not the pose).
COMBINABLE = ("small", "tilt", "blur", "motion", "dim", "glare", "moire", "jpeg", "rotated")
SIZES = ((720, 1280), (480, 640))
SS = 2  # the scene is rendered at 2x and area-averaged: real optics, not aliased warps


# --------------------------------------------------------------------------- payloads

def random_payload(rng: np.random.Generator) -> tuple[str, str]:
    """(text, ec level): a random shared-style string, or one of our pass tokens (EC M)."""
    if rng.random() < 0.25:
        return pass_token(rng), "M"
    n = int(rng.integers(60, 141))
    text = "".join(rng.choice(list(ALPHABET), n))
    return text, str(rng.choice(["L", "M", "Q"], p=[0.45, 0.4, 0.15]))


def pass_token(rng: np.random.Generator) -> str:
    """Shaped like gatepass.tokens (static or dynamic), with a random signature."""
    def b36(lo, hi):
        n, out = int(rng.integers(lo, hi)), ""
        while n:
            n, r = divmod(n, 36)
            out = B36[r] + out
        return out or "0"
    sig = "".join(rng.choice(list(B64URL), 27))
    kid = "k" + "".join(rng.choice(list(B36), 3))
    if rng.random() < 0.5:
        return f"GPS.{kid}.{b36(1, 60000)}.{b36(1, 40)}.{sig}"
    return f"GPD.{kid}.{b36(1, 60000)}.{b36(1, 40)}.{b36(1.7e9, 1.8e9)}.{sig}"


def modules(text: str, ec: str) -> np.ndarray:
    qr = qrcode.QRCode(border=0, error_correction=EC_LEVELS[ec])
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


# --------------------------------------------------------------------------- artwork

def _text_lines(img, rng, x0, y0, x1, y1, colour, n):
    """Words standing in for a card's or app's printed text (drawn on a float image)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(np.clip(v, 0, lim)) for v, lim in ((x0, w), (y0, h), (x1, w), (y1, h)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    region = img[y0:y1, x0:x1]
    mask = np.zeros(region.shape[:2], np.uint8)
    for i in range(n):
        y = int((i + 0.7) * (y1 - y0) / max(n, 1))
        words = "".join(rng.choice(list(string.ascii_uppercase + "  "), int(rng.integers(6, 18))))
        scale = max(0.3, (y1 - y0) / max(n, 1) / 40)
        cv2.putText(mask, words, (0, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                    max(1, int(scale * 2)), cv2.LINE_AA)
    a = (mask.astype(np.float32) / 255.0)[..., None]
    region[:] = region * (1 - a) + a * np.float32(colour)


def card_art(m: np.ndarray, rng, box: int) -> tuple[np.ndarray, np.ndarray]:
    """A printed pass card (colour): paper, ink, header, text beside/below the code.

    Returns the art and the symbol's 4 corners in it.
    """
    n = m.shape[0]
    quiet = int(rng.integers(2, 5)) * box
    size = n * box
    paper = np.array([rng.uniform(200, 250) for _ in range(3)]) * np.array([1, 1, 1])
    paper = paper * rng.uniform(0.9, 1.0, 3)
    ink = rng.uniform(0, 60, 3)
    w = size + 2 * quiet + int(rng.integers(0, 2)) * int(size * 0.6)
    head = int(size * rng.uniform(0.15, 0.3))
    foot = int(size * rng.uniform(0.1, 0.35))
    h = head + size + 2 * quiet + foot
    art = np.empty((h, w, 3), np.float32)
    art[:] = paper
    colour = tuple(float(c) for c in rng.uniform(30, 200, 3))
    cv2.rectangle(art, (0, 0), (w, head), colour, -1)
    _text_lines(art, rng, box, 0, w - box, head, (255, 255, 255), 1)
    x0, y0 = quiet, head + quiet
    code = np.where(m, 1.0, 0.0).astype(np.float32)
    code = cv2.resize(code, (size, size), interpolation=cv2.INTER_NEAREST)[..., None]
    art[y0:y0 + size, x0:x0 + size] = code * ink + (1 - code) * paper
    if w > size + 2 * quiet:
        _text_lines(art, rng, size + 2 * quiet, y0, w - box, y0 + size, tuple(map(float, ink)), 4)
    _text_lines(art, rng, box, y0 + size + quiet, w - box, h, tuple(map(float, ink)), 2)
    corners = np.float32([[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size]])
    return np.clip(art, 0, 255).astype(np.uint8), corners


def phone_art(m: np.ndarray, rng, box: int, dark: bool, grid: bool) -> tuple[np.ndarray, np.ndarray]:
    """A phone in a hand: bezel, app header, the code, and optionally the LCD's sub-pixels."""
    n = m.shape[0]
    quiet = int(rng.integers(2, 5)) * box
    size = n * box
    sw = size + 2 * quiet + int(rng.uniform(0.1, 0.5) * size)
    sh = int(sw * rng.uniform(1.8, 2.1))
    bg = np.array([22, 22, 26]) if dark else np.array([250, 250, 250]) * rng.uniform(0.93, 1.0)
    fg = np.array([235, 235, 235]) if dark else np.array([20, 20, 20])
    screen = np.empty((sh, sw, 3), np.float32)
    screen[:] = bg
    accent = tuple(float(c) for c in rng.uniform(40, 220, 3))
    cv2.rectangle(screen, (0, 0), (sw, int(sh * 0.12)), accent, -1)
    _text_lines(screen, rng, box, 0, sw - box, int(sh * 0.12), (255, 255, 255), 1)
    x0 = (sw - size) // 2
    y0 = int(sh * rng.uniform(0.2, 0.3))
    code = np.where(m, 1.0, 0.0).astype(np.float32)
    code = cv2.resize(code, (size, size), interpolation=cv2.INTER_NEAREST)[..., None]
    screen[y0:y0 + size, x0:x0 + size] = code * fg + (1 - code) * bg
    _text_lines(screen, rng, box, y0 + size + quiet, sw - box, sh - box, tuple(map(float, fg * 0.7 + bg * 0.3)), 4)
    if grid:  # the camera sees the LCD's RGB stripes and black matrix
        pitch = max(2, int(rng.integers(2, 5)))
        yy, xx = np.mgrid[0:sh, 0:sw]
        mask = np.ones((sh, sw), np.float32)
        mask[(yy % pitch) == 0] *= rng.uniform(0.45, 0.75)
        mask[(xx % pitch) == 0] *= rng.uniform(0.45, 0.75)
        screen *= mask[..., None]
    bezel = int(sw * rng.uniform(0.04, 0.08))
    body_colour = tuple(float(c) for c in rng.uniform(5, 60, 3))
    art = cv2.copyMakeBorder(screen, bezel * 2, bezel * 2, bezel, bezel, cv2.BORDER_CONSTANT,
                             value=body_colour)
    ox, oy = x0 + bezel, y0 + 2 * bezel
    corners = np.float32([[ox, oy], [ox + size, oy], [ox + size, oy + size], [ox, oy + size]])
    return np.clip(art, 0, 255).astype(np.uint8), corners


def background(rng, h: int, w: int) -> np.ndarray:
    """A cluttered gate scene: gradient, boxes, stripes, signs, text, a sensor's texture."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 200, 3)
    ramp = rng.uniform(-60, 60, 3)
    img = base + ramp * (xx / w)[..., None] + rng.uniform(-30, 30) * (yy / h)[..., None]
    img = img.astype(np.float32)
    for _ in range(int(rng.integers(4, 14))):
        c = tuple(float(v) for v in rng.uniform(0, 255, 3))
        kind = rng.integers(0, 4)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(20, w // 3)), y + int(rng.integers(20, h // 3))),
                          c, -1 if rng.random() < 0.6 else int(rng.integers(2, 10)))
        elif kind == 1:
            cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), c,
                     int(rng.integers(2, 14)), cv2.LINE_AA)
        elif kind == 2:
            cv2.circle(img, (x, y), int(rng.integers(10, h // 4)), c, -1, cv2.LINE_AA)
        else:
            _text_lines(img, rng, x, y, min(w, x + w // 3), min(h, y + h // 5), c, 3)
    if rng.random() < 0.5:  # railings / blinds: regular stripes, the region finder's foe
        pitch = int(rng.integers(6, 30))
        c = float(rng.uniform(-50, 50))
        stripes = ((xx if rng.random() < 0.5 else yy) // pitch % 2)[..., None] * c
        x0 = int(rng.integers(0, w // 2))
        x1 = min(w, x0 + int(rng.integers(w // 8, w // 3)))
        img[:, x0:x1] += stripes[:, x0:x1]
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.8, 2.5))  # out of the focal plane
    return np.clip(img, 0, 255)


# --------------------------------------------------------------------------- camera

def place(frame: np.ndarray, art: np.ndarray, corners: np.ndarray, rng, *, code_px: float,
          angle: float, tilt: float) -> np.ndarray:
    """Warp `art` into `frame` (both at SS x) so the symbol is `code_px` wide (frame px).

    `tilt` foreshortens one random axis (a card held at an angle to the lens).  Returns the
    symbol's corners in the frame's (1x) pixels.
    """
    h, w = frame.shape[:2]
    ah, aw = art.shape[:2]
    sym = float(corners[1, 0] - corners[0, 0])
    scale = code_px * SS / sym
    src = np.float32([[0, 0], [aw, 0], [aw, ah], [0, ah]])
    centre_art = corners.mean(axis=0)
    pts = (src - centre_art) * scale
    # perspective: shrink the far edge along a random direction
    d = rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(d), np.sin(d)], np.float32)
    extent = max(float(np.abs(pts @ u).max()), 1.0)
    along = pts @ u / extent  # -1 .. 1
    pts = pts * (1.0 - tilt * 0.5 * (along[:, None] + 1.0)) * np.float32(1 + tilt * 0.3)
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    pts = pts @ rot.T
    lo = -pts.min(axis=0) + 4 * SS
    hi = np.array([w, h], np.float32) - pts.max(axis=0) - 4 * SS
    cx = rng.uniform(lo[0], max(lo[0], hi[0])) if hi[0] > lo[0] else w / 2
    cy = rng.uniform(lo[1], max(lo[1], hi[1])) if hi[1] > lo[1] else h / 2
    dst = (pts + [cx, cy]).astype(np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)
    cv2.warpPerspective(art, hom, (w, h), dst=frame, flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_TRANSPARENT)
    return cv2.perspectiveTransform(corners[None], hom)[0] / SS


def shake_kernel(length: float, angle: float) -> np.ndarray:
    """A hand-shake path: a straight or slightly curved line, anti-aliased."""
    n = int(np.ceil(length)) + 3
    k = np.zeros((n, n), np.float32)
    c = (n - 1) / 2
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    cv2.line(k, (round((c - dx) * 16), round((c - dy) * 16)), (round((c + dx) * 16), round((c + dy) * 16)),
             1.0, 1, cv2.LINE_AA, 4)
    return k / k.sum()


def glare(img: np.ndarray, rng, centre, radius: float, strength: float) -> np.ndarray:
    """A reflection: an elliptical highlight that saturates its core."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ex = rng.uniform(0.6, 1.6)
    r2 = ((xx - centre[0]) / (radius * ex)) ** 2 + ((yy - centre[1]) / radius) ** 2
    spot = strength * np.exp(-r2 * 1.5)
    return img + spot[..., None]


class _Tremor:
    """What changes between frames of a pass held still at the gate (nothing without a
    random source: a still frame is rendered exactly as before)."""

    def __init__(self, jitter: np.random.Generator | None):
        self.jitter = jitter

    def shift(self, img: np.ndarray) -> np.ndarray:
        """The whole frame moved by a fraction of a pixel (sub-pixel hand tremor)."""
        if self.jitter is None:
            return img
        dx, dy = self.jitter.normal(0, 0.35, 2)
        h, w = img.shape[:2]
        return cv2.warpAffine(img, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def move(self, width: float) -> np.ndarray:
        """How far a glare spot moves as the card tilts a degree or so."""
        return np.zeros(2) if self.jitter is None else self.jitter.normal(0, 0.04, 2) * width

    def scale(self) -> float:
        return 1.0 if self.jitter is None else float(self.jitter.uniform(0.92, 1.08))

    def noise(self, drawn: np.ndarray, sigma: float) -> np.ndarray:
        """Sensor noise: the one drawn for the still (so the stream stays the same), or a
        fresh field of the same strength for a later frame."""
        if self.jitter is None:
            return drawn
        return self.jitter.normal(0, sigma, drawn.shape)


def render_held(rng: np.random.Generator, condition: str, count: int, seed: int):
    """`count` frames of one pass held up at the gate: the first is exactly the still
    `render` gives, the rest the same scene with tremor and fresh noise.  `rng` moves on
    as after one still.  Yields (BGR frame, text, JPEG bytes)."""
    state = rng.bit_generator.state
    yield render(rng, condition)
    for k in range(1, count):
        again = np.random.default_rng()
        again.bit_generator.state = state
        yield render(again, condition, jitter=np.random.default_rng([seed, k]))


def render(rng: np.random.Generator, condition: str, trace: dict | None = None,
           jitter: np.random.Generator | None = None):
    """One frame for a condition: (BGR frame, text encoded, its JPEG bytes).

    `jitter`, when given, makes a later frame of the same pass held up at the gate: the
    same scene from the same `rng` state, with the hand's tremor on top (the frame moves by
    a fraction of a pixel, a glare spot moves and changes a little, the blur too) and the
    sensor's noise drawn afresh (`render_held`).

    `trace`, when given, receives the symbol's modules (`modules`), its corners in the
    frame (`quad`, flat placements only), the blur the camera added (`focus`: a Gaussian's
    sigma, `shake`: (length px, angle degrees) of `shake_kernel`, each when it did) and the
    image just before it is clipped to 0..255 (`unclipped`, noise included), for
    measurements such as scripts/glare_bound.py and scripts/combo_bound.py; the random
    stream is the same with or without it."""
    text, ec = random_payload(rng)
    m = modules(text, ec)
    trace = {} if trace is None else trace
    trace["modules"] = m
    h, w = SIZES[int(rng.random() < 0.3)]
    parts = {condition}
    if condition == "glare-blur":  # a glare spot on a soft, noisy code
        parts = {"glare", "blur"}
    if condition == "combo":
        parts = set(rng.choice(COMBINABLE, int(rng.integers(2, 4)), replace=False))
    dark = condition == "inverted"
    is_phone = condition not in SURFACES and (dark or "moire" in parts or rng.random() < 0.5)
    box = 6
    if is_phone:
        art, corners = phone_art(m, rng, box, dark=dark, grid="moire" in parts or rng.random() < 0.3)
    else:
        art, corners = card_art(m, rng, box)
    n = m.shape[0]
    short = min(h, w)
    # module pitch in frame pixels: nominal codes fill 20-45 % of the short side
    if "small" in parts:
        pitch = rng.uniform(1.7, 2.6)
    elif "moire" in parts:
        pitch = rng.uniform(2.4, 4.5)
    else:
        pitch = max(2.6, rng.uniform(0.2, 0.45) * short / n)
    code_px = pitch * n
    angle = rng.uniform(-12, 12)
    if "rotated" in parts:
        angle = rng.uniform(0, 360)
    tilt = rng.uniform(0, 0.15)
    if "tilt" in parts:
        tilt = rng.uniform(0.3, 0.55)
    frame = cv2.resize(background(rng, h, w).astype(np.uint8), (w * SS, h * SS),
                       interpolation=cv2.INTER_LINEAR)
    if condition in SURFACES:  # bent, folded, cloth: its own tilt and turn in 3-D
        quad = place_surface(frame, art, corners, rng, kind=condition, code_px=code_px, ss=SS, n=n)
    else:
        quad = place(frame, art, corners, rng, code_px=code_px, angle=angle, tilt=tilt)
        trace["quad"] = quad
    img = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    shot, buf = _through_camera(img, rng, parts, quad, pitch, _Tremor(jitter), trace)
    return shot, text, buf


def _through_camera(img: np.ndarray, rng: np.random.Generator, parts: set, quad: np.ndarray,
                    pitch: float, tremor: _Tremor, trace: dict):
    """The placed scene as the webcam delivers it: lens softness, the condition's glare,
    blur, shake or dimness, sensor noise, JPEG.  (decoded BGR frame, JPEG bytes)"""
    img = cv2.GaussianBlur(img, (0, 0), 0.5)  # lens and demosaic softness
    img = tremor.shift(img)
    if "glare" in parts:
        width = np.ptp(quad[:, 0])
        centre = quad.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * width + tremor.move(width)
        img = glare(img, rng, centre, radius=rng.uniform(0.12, 0.3) * width,
                    strength=rng.uniform(120, 260) * tremor.scale())
    if "blur" in parts:
        trace["focus"] = sigma = pitch * rng.uniform(0.45, 0.8) * tremor.scale()
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if "motion" in parts:
        length = pitch * rng.uniform(1.5, 4.0)
        trace["shake"] = (length, angle := rng.uniform(0, 180))
        img = cv2.filter2D(img, -1, shake_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    noise = rng.uniform(1.5, 4.0)
    if "dim" in parts:
        gain = rng.uniform(0.15, 0.35)
        img = 255.0 * (img * gain / 255.0) ** rng.uniform(0.9, 1.2) + rng.uniform(0, 10)
        noise = rng.uniform(5, 11)
    img = img + tremor.noise(rng.normal(0, noise, img.shape[:2])[..., None], noise)
    img = img + tremor.noise(rng.normal(0, noise * 0.4, img.shape), noise * 0.4)
    trace["unclipped"] = img
    img = np.clip(img, 0, 255).astype(np.uint8)
    quality = int(rng.integers(6, 16)) if "jpeg" in parts else int(rng.integers(75, 93))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR), buf


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--per-condition", type=int, default=30)
    p.add_argument("--seed", type=int, default=20240917)
    p.add_argument("--conditions", default=",".join(CONDITIONS))
    p.add_argument("--held", type=int, default=0, metavar="K",
                   help="K frames of each pass held up (folders <condition>_<nnn>/), not stills")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    write = _write_held if args.held else _write_still
    truth = {}
    for cond in args.conditions.split(","):
        if cond not in CONDITIONS:
            print(f"unknown condition {cond!r}", file=sys.stderr)
            return 2
        for i in range(args.per_condition):
            name, text = write(args, rng, cond, i)
            truth[name] = text
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True), encoding="utf-8")
    what = f"held passes of {args.held} frames" if args.held else "frames"
    print(f"{len(truth)} {what} in {args.out}")
    return 0


def _write_still(args, rng: np.random.Generator, cond: str, i: int) -> tuple[str, str]:
    """One still frame, `<condition>_<nnn>.jpg`: (its name, the text it encodes)."""
    _, text, buf = render(rng, cond)
    name = f"{cond}_{i:03d}.jpg"
    (args.out / name).write_bytes(buf.tobytes())
    return name, text


def _write_held(args, rng: np.random.Generator, cond: str, i: int) -> tuple[str, str]:
    """One held-up pass, a folder of frames f00.jpg, f01.jpg... (scripts/bench_held.py)."""
    name = f"{cond}_{i:03d}"
    (args.out / name).mkdir(parents=True, exist_ok=True)
    for k, (_, text, buf) in enumerate(render_held(rng, cond, args.held, args.seed * 1000 + i)):
        (args.out / name / f"f{k:02d}.jpg").write_bytes(buf.tobytes())
    return name, text


if __name__ == "__main__":
    sys.exit(main())
