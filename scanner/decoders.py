"""QR decoders and image preprocessing for the gate scanner, as a registry of pure functions.

Every decoder takes one 2-D uint8 grey image and returns a list of `DecodeResult`; none of
them ever raises, because a camera hands us anything (black frames, half-written buffers,
colour frames) and a crash at the gate is worse than a missed frame.

Preprocessing works on `View`s: an image plus the scale and offset that map its pixels back
to the camera frame, so corner points can outline the code on the guard's screen whatever
crop/zoom found it.  A preprocessor returns an iterable of views: several when it has
several candidates (regions, deblurring guesses), none when it cannot help.  An item may
also be a zero-argument callable that makes the view, so a costly candidate (a deblurring
guess) is only computed when the chain asks for it.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

try:  # the decoders are optional at import time so a missing wheel only disables one step
    import zxingcpp
except ImportError:  # pragma: no cover - depends on the machine
    zxingcpp = None
try:
    from pyzbar import pyzbar
except Exception:  # pragma: no cover - ImportError, or OSError when libzbar0 is missing
    pyzbar = None

#: Frames larger than this (long side) are shrunk before decoding: no gate code needs more
#: pixels, and a 50-megapixel buffer must not stall the scanner.
MAX_SIDE = 4096
#: Smaller than the 21x21 modules of a version-1 QR code cannot hold one.
MIN_SIDE = 21


@dataclass(frozen=True)
class DecodeResult:
    """One decoded code: its text and its 4 corners (x, y) in the given image's pixels."""

    text: str
    points: np.ndarray  # shape (4, 2), float32


Decoder = Callable[[np.ndarray], "list[DecodeResult]"]


# --------------------------------------------------------------------------- text handling

def clean_text(text: str) -> str:
    """Normalise line ends to ``\\n``.

    Printed contact cards and phone apps encode CRLF or LF at random; a pass token has no
    line break at all, so folding them only makes the same code read the same everywhere.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def bytes_to_text(data: bytes) -> str:
    """zbar hands us bytes (already transcoded to UTF-8 by zbar when it could).

    Fall back to Latin-1, which maps every byte to one character, so binary payloads still
    reach the verifier intact instead of raising.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --------------------------------------------------------------------------- input guards

def as_gray(image) -> np.ndarray | None:
    """Any camera buffer -> contiguous 2-D uint8, or None when it cannot hold a code."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        return None
    img = image
    if img.ndim == 3:
        channels = img.shape[2]
        if channels == 1:
            img = img[:, :, 0]
        elif channels in (3, 4):
            if img.dtype != np.uint8:
                img = _to_uint8(img)
            code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
            img = cv2.cvtColor(np.ascontiguousarray(img), code)
        else:
            return None
    elif img.ndim != 2:
        return None
    if img.dtype != np.uint8:
        img = _to_uint8(img)
    if min(img.shape) < MIN_SIDE:
        return None
    return np.ascontiguousarray(img)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """Floats in 0..1 and 10/12/16-bit sensor data are stretched to 0..255, not clipped."""
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    f = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(f.max()) if f.size else 0.0
    if np.issubdtype(img.dtype, np.floating) and 0.0 < top <= 1.0 and f.min() >= 0.0:
        f = f * 255.0
    elif top > 255.0:
        f = f * (255.0 / top)
    return np.clip(f, 0, 255).astype(np.uint8)


def _guarded(fn: Callable[[np.ndarray], list[DecodeResult]]) -> Decoder:
    """Wrap a raw decoder: normalise the input, shrink huge frames, swallow every error."""

    def decoder(image) -> list[DecodeResult]:
        try:
            gray = as_gray(image)
            if gray is None:
                return []
            scale = 1.0
            if max(gray.shape) > MAX_SIDE:
                scale = MAX_SIDE / max(gray.shape)
                gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            results = fn(gray)
            if scale != 1.0:
                results = [DecodeResult(r.text, r.points / scale) for r in results]
            return results
        except Exception:  # noqa: BLE001 - a decoder must never take the gate down
            return []

    decoder.__name__ = fn.__name__
    decoder.__doc__ = fn.__doc__
    return decoder


def _quad(points) -> np.ndarray:
    """Any polygon -> 4 corners; zbar may return more than 4 points for a warped code."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) == 4:
        return pts
    if len(pts) < 3:
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)


# --------------------------------------------------------------------------- decoders

def _zxing(gray: np.ndarray, binarizer=None) -> list[DecodeResult]:
    if zxingcpp is None:
        return []
    kwargs = dict(formats=zxingcpp.BarcodeFormat.QRCode, text_mode=zxingcpp.TextMode.Plain)
    if binarizer is not None:
        kwargs["binarizer"] = binarizer
    out = []
    for b in zxingcpp.read_barcodes(gray, **kwargs):
        if not b.valid or not b.text:
            continue
        p = b.position
        corners = [p.top_left, p.top_right, p.bottom_right, p.bottom_left]
        pts = np.array([[c.x, c.y] for c in corners], dtype=np.float32)
        out.append(DecodeResult(clean_text(b.text), pts))
    return out


def zxing(gray: np.ndarray) -> list[DecodeResult]:
    """zxing-cpp with its own rotate/downscale/invert search: fast and the most tolerant.

    Plain text mode gives the bytes as encoded (HRI mode would rewrite GS1 and control
    characters for display, which would break exact token comparison).
    """
    return _zxing(gray)


def zxing_global(gray: np.ndarray) -> list[DecodeResult]:
    """zxing-cpp with one global threshold: steadier than the local one on smeared modules."""
    return _zxing(gray, binarizer=zxingcpp.Binarizer.GlobalHistogram if zxingcpp else None)


def _zbar(gray: np.ndarray) -> list[DecodeResult]:
    if pyzbar is None:
        return []
    out = []
    for r in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]):
        text = clean_text(bytes_to_text(r.data))
        if text:
            out.append(DecodeResult(text, _quad([(p.x, p.y) for p in r.polygon])))
    return out


def zbar(gray: np.ndarray) -> list[DecodeResult]:
    """pyzbar/libzbar: a different locator, good on moire and jpeg noise, no dark mode."""
    return _zbar(gray)


_cv = threading.local()  # OpenCV detectors keep state: one per thread


def _detector(kind: str):
    det = getattr(_cv, kind, None)
    if det is None:
        det = cv2.QRCodeDetectorAruco() if kind == "aruco" else cv2.QRCodeDetector()
        setattr(_cv, kind, det)
    return det


def _opencv(gray: np.ndarray, kind: str) -> list[DecodeResult]:
    text, points, _ = _detector(kind).detectAndDecode(gray)
    if not text or points is None:
        return []
    return [DecodeResult(clean_text(text), _quad(points))]


def opencv(gray: np.ndarray) -> list[DecodeResult]:
    """OpenCV's classic QRCodeDetector: slow on full frames, a third opinion on crops."""
    return _opencv(gray, "classic")


def opencv_aruco(gray: np.ndarray) -> list[DecodeResult]:
    """OpenCV's ArUco-based finder-pattern search, more tolerant of tilt than the classic."""
    return _opencv(gray, "aruco")


DECODERS: dict[str, Decoder] = {
    "zxing": _guarded(zxing),
    "zxing-global": _guarded(zxing_global),
    "zbar": _guarded(zbar),
    "opencv": _guarded(opencv),
    "opencv-aruco": _guarded(opencv_aruco),
}

#: The decoders benchmarked "alone", one per library.
SINGLE_DECODERS = ("zxing", "zbar", "opencv", "opencv-aruco")


# --------------------------------------------------------------------------- views

@dataclass(frozen=True)
class View:
    """A preprocessed image and how to map its pixels back: frame = xy / scale + offset."""

    image: np.ndarray
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)

    def derive(self, image: np.ndarray, scale: float = 1.0, crop_xy=(0.0, 0.0)) -> "View":
        """A view of this view: `image` is this one cropped at `crop_xy` then scaled."""
        ox = self.offset[0] + crop_xy[0] / self.scale
        oy = self.offset[1] + crop_xy[1] / self.scale
        return View(image, self.scale * scale, (ox, oy))

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        return pts / self.scale + np.array(self.offset, dtype=np.float32)


Preprocessor = Callable[[View], "Iterable[View | Callable[[], View]]"]


def _resize(view: View, factor: float, interpolation) -> View:
    img = cv2.resize(view.image, None, fx=factor, fy=factor, interpolation=interpolation)
    return view.derive(img, scale=factor)


def shrink(view: View, max_side: int = 960) -> list[View]:
    """Downscale big frames: big close-up codes and screen moire vanish, decoders run faster."""
    side = max(view.image.shape)
    if side <= max_side:
        return []
    return [_resize(view, max_side / side, cv2.INTER_AREA)]


def enlarge(view: View, max_side: int = 1024) -> list[View]:
    """Upscale a (cropped) code 2x with cubic interpolation.

    Far-away codes have 1-2 pixels per module; the locators need ~3.  Declines when the
    image is already big, where upscaling only costs time.
    """
    side = max(view.image.shape)
    factor = min(2.0, max_side / side)
    if factor < 1.4:
        return []
    return [_resize(view, factor, cv2.INTER_CUBIC)]


def invert(view: View) -> list[View]:
    """Dark-mode phone screens show light modules on black; zbar and OpenCV need dark ones."""
    return [view.derive(cv2.bitwise_not(view.image))]


def equalize(view: View) -> list[View]:
    """CLAHE: lifts a code out of a dim frame or the shadow beside a glare spot."""
    tiles = max(2, min(8, max(view.image.shape) // 64))
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(tiles, tiles))
    return [view.derive(clahe.apply(view.image))]


def sharpen(view: View) -> list[View]:
    """Unsharp mask: steepens module edges softened by focus blur."""
    img = view.image
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    return [view.derive(cv2.addWeighted(img, 2.5, blurred, -1.5, 0))]


def binarize(view: View) -> list[View]:
    """Adaptive threshold with a block of about two modules' width at typical scales."""
    img = view.image
    block = max(15, (min(img.shape) // 16) | 1)
    bw = cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 4)
    return [view.derive(bw)]


def smooth(view: View) -> list[View]:
    """A light Gaussian blur: melts a screen's pixel grid (moire) and sensor noise."""
    return [view.derive(cv2.GaussianBlur(view.image, (0, 0), 1.2))]


def level(view: View) -> list[View]:
    """Local contrast normalisation: each pixel against the mean and spread around it.

    A glare spot or a shadow changes brightness smoothly over many modules; dividing it out
    leaves the module pattern at full contrast everywhere, which one threshold can then cut.
    Box filters keep it at a fraction of a millisecond whatever the window.
    """
    img = view.image.astype(np.float32)
    win = max(9, (max(img.shape) // 6) | 1)
    mean = cv2.boxFilter(img, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    diff = img - mean
    var = cv2.boxFilter(diff * diff, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    spread = cv2.sqrt(np.maximum(var, 0.0))
    out = np.clip(128.0 + 60.0 * diff / (spread + 12.0), 0, 255).astype(np.uint8)
    return [view.derive(out)]


def denoise(view: View) -> list[View]:
    """Median filter: removes the salt-and-pepper of a dim sensor without rounding edges."""
    return [view.derive(cv2.medianBlur(view.image, 3))]


# --------------------------------------------------------------------------- regions

def find_regions(gray: np.ndarray, max_regions: int = 2) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around the densest patches of edges, best first.

    A QR code is the most edge-dense thing a gate camera sees, whatever its condition, so
    this finds codes too small, blurred or dim for the decoders' own locators, and lets the
    costly steps work on a few hundred pixels instead of the whole frame.
    """
    h, w = gray.shape
    s = min(1.0, 320.0 / max(h, w))
    small = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gray
    small = cv2.GaussianBlur(small, (0, 0), 0.8)  # sensor noise is not edges
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    energy = cv2.blur(grad.astype(np.float32), (9, 9))
    peak, floor = float(energy.max()), float(np.median(energy))
    if peak - floor < 8.0:  # a flat frame: nothing to look at
        return []
    mask = (energy > floor + 0.35 * (peak - floor)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    scored = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < 16:
            continue
        scored.append((float(energy[labels == i].sum()), (x, y, bw, bh)))
    scored.sort(reverse=True)
    boxes = []
    for _, (x, y, bw, bh) in scored[:max_regions]:
        m = 0.25 * max(bw, bh) + 2
        x0, y0 = max(0, int((x - m) / s)), max(0, int((y - m) / s))
        x1, y1 = min(w, int((x + bw + m) / s)), min(h, int((y + bh + m) / s))
        if min(x1 - x0, y1 - y0) >= MIN_SIDE:
            boxes.append((x0, y0, x1, y1))
    return boxes


#: An image this small is already a close-up: it goes to the rescue steps whole, since a
#: code that fills it (no quiet zone, artwork inside) would be cut apart by the crops.
CLOSE_UP_SIDE = 480


def regions(view: View) -> list[View]:
    """Crop the candidate code regions (see `find_regions`)."""
    crops = [view.derive(view.image[y0:y1, x0:x1], crop_xy=(x0, y0))
             for x0, y0, x1, y1 in find_regions(view.image)]
    if max(view.image.shape) <= CLOSE_UP_SIDE:
        crops = [view] + crops[:1]
    return crops


# --------------------------------------------------------------------------- deblurring

#: Below this anisotropy the blur is taken for focus blur (round), above for hand shake.
SHAKE_ANISOTROPY = 0.15


def _smear_profile(f: np.ndarray, angle: float, max_lag: int) -> tuple[float, float]:
    """(lag, depth): where and how strongly the derivative along `angle` anti-correlates."""
    h, w = f.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.degrees(angle)), 1.0)
    r = cv2.warpAffine(f, rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    m = int(0.2 * min(h, w))
    d = np.diff(r[m:h - m, m:w - m], axis=1)
    d -= d.mean(axis=1, keepdims=True)
    n = d.shape[1]
    if n < 8:
        return 0.0, 0.0
    size = cv2.getOptimalDFTSize(2 * n)
    spec = cv2.dft(cv2.copyMakeBorder(d, 0, 0, 0, size - n, cv2.BORDER_CONSTANT),
                   flags=cv2.DFT_ROWS | cv2.DFT_COMPLEX_OUTPUT)
    power = (spec[..., 0] ** 2 + spec[..., 1] ** 2).sum(axis=0)
    ac = np.fft.irfft(power[: size // 2 + 1], n=size)[: min(n, max_lag)]
    if ac[0] <= 0 or len(ac) < 4:
        return 0.0, 0.0
    lag = int(np.argmin(ac[2:]) + 2)
    depth = float(-ac[lag] / ac[0])
    if 2 < lag < len(ac) - 1:  # parabolic peak: sub-pixel length matters after upscaling
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
        den = a - 2 * b + c
        lag = lag + (0.5 * (a - c) / den if den > 0 else 0.0)
    return float(lag), depth


def _structure(f: np.ndarray) -> tuple[float | None, float]:
    """(anisotropy 0..1, direction of the weakest gradients) of an image's structure tensor."""
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).mean()), float((gy * gy).mean()), float((gx * gy).mean())
    tr = jxx + jyy
    if tr <= 1e-6:
        return None, 0.0
    disc = np.sqrt(max(tr * tr / 4 - (jxx * jyy - jxy * jxy), 0.0))
    return float(2 * disc / tr), float(0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2)


def _blur_guesses(gray: np.ndarray) -> tuple[list[tuple[float, float]], float]:
    """([(length px, angle rad), ...] best first, anisotropy) for a crop around a code."""
    s = min(1.0, 256.0 / max(gray.shape))
    f = gray.astype(np.float32)
    if s < 1.0:
        f = cv2.resize(f, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    anisotropy, angle = _structure(f)
    if anisotropy is None:
        return [(0.0, 0.0)], 0.0
    candidates = [angle]
    if anisotropy >= SHAKE_ANISOTROPY:
        candidates += [angle - np.radians(3), angle + np.radians(3)]
    max_lag = int(40 * s) + 3
    scored = []
    for a in candidates:
        lag, depth = _smear_profile(f, a, max_lag)
        scored.append((depth, lag / s, a))
    _, length, best = max(scored)
    if len(scored) == 1:
        return [(length, best)], anisotropy
    # the measured best may still be a few degrees off: its neighbours are the next guesses
    return [(length, best + d) for d in (0.0, -np.radians(3), np.radians(3))], anisotropy


def estimate_blur(gray: np.ndarray) -> tuple[float, float, float]:
    """(length px, angle rad, anisotropy) of the blur in a crop around a code.

    A sharp QR code has as many vertical as horizontal edges at any rotation, so its
    gradient structure tensor is isotropic; hand shake removes the gradients along the
    motion, which the tensor's weak axis shows (anisotropy near 0 means focus blur).
    The length is where the derivative along that axis best anti-correlates with itself:
    a box blur turns each edge into a +/- pair exactly one blur length apart.  The code's
    own grid biases the tensor by a few degrees, so the neighbouring directions are
    measured too and the one where that anti-correlation is deepest wins.
    """
    guesses, anisotropy = _blur_guesses(gray)
    length, angle = guesses[0]
    return length, angle, anisotropy


def _half_plane_multiplier(filt: np.ndarray) -> np.ndarray:
    """Spread a real filter given on the half plane (h, w/2+1) over OpenCV's packed (CCS)
    spectrum layout (h, w), so a real filter costs one real DFT each way."""
    h, half = filt.shape
    w = 2 * (half - 1)
    m = np.empty((h, w), np.float32)
    m[:, 1:w - 1:2] = filt[:, 1:half - 1]
    m[:, 2:w - 1:2] = filt[:, 1:half - 1]
    for col, j in ((0, 0), (w - 1, half - 1)):  # first/last columns are packed vertically
        m[0, col] = filt[0, j]
        m[1:h - 1:2, col] = filt[1:h // 2, j]
        m[2:h - 1:2, col] = filt[1:h // 2, j]
        m[h - 1, col] = filt[h // 2, j]
    return m


@functools.lru_cache(maxsize=32)
def _frequencies(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column frequencies (cycles/px) of a packed real spectrum of size h x w."""
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = (np.arange(w // 2 + 1, dtype=np.float32) / w)[None, :]
    return fy, fx


class Deconvolver:
    """Wiener deconvolution of one image by real (centred, symmetric) blur responses.

    The padded image's spectrum is computed once, so trying several blur guesses costs one
    inverse transform each.  The crop is reflect-padded by `margin` so its borders do not
    ring into the code.  The filter is scale-free, so the image stays in 0..255.
    """

    def __init__(self, gray: np.ndarray, margin: int):
        h, w = gray.shape
        hh = cv2.getOptimalDFTSize(h + 2 * margin)
        ww = cv2.getOptimalDFTSize(w + 2 * margin)
        hh, ww = hh + hh % 2, ww + ww % 2  # the packed layout assumes even sizes
        padded = cv2.copyMakeBorder(gray, margin, hh - h - margin, margin, ww - w - margin,
                                    cv2.BORDER_REFLECT)
        self._spectrum = cv2.dft(padded.astype(np.float32))
        self._crop = (slice(margin, margin + h), slice(margin, margin + w))
        self._freqs = _frequencies(hh, ww)

    def __call__(self, transfer: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 nsr: float) -> np.ndarray:
        """`transfer(fy, fx)`: the blur's frequency response, frequencies in cycles/px."""
        response = transfer(*self._freqs)
        mult = _half_plane_multiplier(response / (response * response + np.float32(nsr)))
        res = cv2.dft(cv2.multiply(self._spectrum, mult),
                      flags=cv2.DFT_INVERSE | cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
        res = res[self._crop]
        return np.clip(res, 0, 255, out=res).astype(np.uint8)


def wiener(gray: np.ndarray, transfer: Callable[[np.ndarray, np.ndarray], np.ndarray],
           margin: int, nsr: float) -> np.ndarray:
    """One-off Wiener deconvolution (see `Deconvolver`)."""
    return Deconvolver(gray, margin)(transfer, nsr)


def shake_transfer(length: float, angle: float):
    """Frequency response of a straight motion smear (a box `length` px long at `angle`)."""
    c, s = np.float32(np.pi * length * np.cos(angle)), np.float32(np.pi * length * np.sin(angle))

    def response(fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
        x = fx * c + fy * s  # sinc(length * f.d), in float32 throughout
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sin(x) / x
        out[x == 0] = 1.0
        return out

    return response


def focus_transfer(sigma: float):
    """Frequency response of a Gaussian (out-of-focus) blur."""
    k = np.float32(-2 * np.pi ** 2 * sigma ** 2)
    return lambda fy, fx: np.exp(k * (fy * fy + fx * fx))


#: Deconvolution runs at this size: enough pixels per module for a sub-pixel kernel on a
#: far code, small enough that the transforms stay within a few milliseconds.
DEBLUR_SIDE = 480


#: From this smear length on, a few degrees of error in the measured direction leave too
#: much blur behind, so the neighbouring directions are tried too.
LONG_SMEAR = 8.0


def focus_sigma(gray: np.ndarray) -> float:
    """Gaussian blur (sigma, px) of a crop around a code, from its steepest edges.

    A step edge blurred by a Gaussian has a peak slope of contrast / (sigma * sqrt(2 pi)),
    and a QR code always has long straight edges (its finder patterns), so the strongest
    gradients and the code's dark-to-light range give sigma.  A light pre-smoothing keeps
    sensor noise out of the slope; it is taken back out in quadrature.  The estimate runs
    slightly high on codes whose modules are narrower than the blur, hence the 0.85.
    """
    pre = 1.0
    f = cv2.GaussianBlur(gray, (0, 0), pre)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy).ravel()
    k = int(0.995 * (mag.size - 1))
    slope = float(np.partition(mag, k)[k]) / 8.0  # Sobel's gain is 8
    h, w = f.shape
    hist = cv2.calcHist([f[h // 6:h - h // 6, w // 6:w - w // 6]], [0], None, [256], [0, 256])
    cdf = np.cumsum(hist.ravel()) / max(float(hist.sum()), 1.0)
    lo, hi = int(np.searchsorted(cdf, 0.03)), int(np.searchsorted(cdf, 0.97))
    if slope <= 1e-3 or hi - lo < 8:
        return 0.0
    total = float(hi - lo) / (np.sqrt(2 * np.pi) * slope)
    return 0.85 * float(np.sqrt(max(total * total - pre * pre, 0.0)))


#: Below this focus blur (px at DEBLUR_SIDE) a crop is sharp enough for the decoders.
SHARP_SIGMA = 0.9

#: From this anisotropy of the crop's middle on, shake guesses go first (focus-blurred codes
#: measure below ~0.35, shaken ones mostly above 0.4).
CLEARLY_SHAKEN = 0.4

#: Focus-blur guesses around the estimate (its factor, Wiener noise-to-signal ratio), in
#: the order tried: the estimate is within ~30 % on most codes, and a lower NSR recovers
#: more of a heavy blur at the price of noise.
FOCUS_GUESSES = ((1.0, 0.01), (1.3, 0.01), (0.75, 0.01), (1.3, 0.003))


def deblur(view: View) -> Iterator[Callable[[], View]]:
    """Undo focus blur (Gaussian) or hand shake (a line kernel along the measured direction).

    Meant for crops: the estimates assume the crop is mostly code.  Works at a fixed size
    (upscaling small crops first) and declines when the crop looks sharp.  A generator:
    the guesses are ordered by how likely they are, and the later ones (other sizes, the
    other kind of blur) cost nothing unless the chain has time left and asks.
    """
    img = view.image
    factor = DEBLUR_SIDE / max(img.shape)
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    work = cv2.resize(img, None, fx=factor, fy=factor, interpolation=interp)
    sigma = focus_sigma(work)
    guesses, _ = _blur_guesses(img)
    length = guesses[0][0] * factor
    # the tensor of the crop's middle: a card's edge or text lines around the code would
    # make a round blur look directional
    h, w = work.shape
    middle, _ = _structure(work[h // 5:h - h // 5, w // 5:w - w // 5].astype(np.float32))
    anisotropy = middle or 0.0
    shaken = anisotropy >= SHAKE_ANISOTROPY and 2.5 <= length <= 0.25 * min(work.shape)
    if sigma < SHARP_SIGMA and not shaken:
        return
    spectrum = functools.cache(lambda: Deconvolver(work, int(max(length, 4 * sigma)) + 2))

    def guess(transfer, nsr: float) -> Callable[[], View]:
        # deferred: the chain can step over a guess it tried on the previous frame for free
        return lambda: view.derive(spectrum()(transfer, nsr), scale=factor)

    def focus():
        for k, nsr in FOCUS_GUESSES:
            yield guess(focus_transfer(sigma * k), nsr)

    def shake():
        for g_length, g_angle in guesses[:1] if length < LONG_SMEAR else guesses:
            yield guess(shake_transfer(g_length * factor, g_angle), 0.01)

    if not shaken:
        yield from focus()
        return
    if sigma < SHARP_SIGMA or anisotropy >= CLEARLY_SHAKEN:
        yield from shake()
        if sigma >= SHARP_SIGMA:
            yield from focus()
        return
    yield from _alternate(shake(), focus())  # in between: either may be right


def _alternate(*iterators: Iterator) -> Iterator:
    """Round-robin, computing each item only when it is asked for."""
    live = list(iterators)
    while live:
        for it in list(live):
            item = next(it, None)
            if item is None:
                live.remove(it)
            else:
                yield item


PREPROCESSORS: dict[str, Preprocessor] = {
    "shrink": shrink,
    "enlarge": enlarge,
    "invert": invert,
    "equalize": equalize,
    "sharpen": sharpen,
    "binarize": binarize,
    "smooth": smooth,
    "level": level,
    "denoise": denoise,
    "regions": regions,
    "deblur": deblur,
}
