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
from typing import Callable, Iterable

import cv2
import numpy as np

from .deblur import deblur, seen_blur  # the costliest preprocessor has a module of its own
from .views import View
from .flatfit import deblurred_grids, denoised_grid  # flat grids for the soft decoder
from .outline import outline_box, outlined_grid  # a flat grid where no finder is found
from .qrsoft import soft_reads
from .regions import MIN_SIDE, code_box, regions  # where in a frame the codes are
from .seeded import unwarp_seeded  # folds: grids seeded at the alignment patterns, joined
from .warp import BOX, QUIET, unwarp  # non-flat codes: a bent grid
from .creases import creased  # folded paper: a grid with straight creases

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


@dataclass(frozen=True)
class DecodeResult:
    """One decoded code: its text and its 4 corners (x, y) in the given image's pixels."""

    text: str
    points: np.ndarray  # shape (4, 2), float32
    #: read by correcting more than the libraries would (`qr-soft`): bounded per block but
    #: not certain, so a chain with a `confirm` predicate (the live gate: the signature
    #: verifies) keeps it only when that holds
    corrected: bool = False
    #: read only past the soft decoder's bound (`qrsoft.soft_reads`): one of the few texts
    #: a block at its redundancy's edge could be, so a chain keeps it only when its
    #: `verify` predicate (the live gate: the signature verifies with the gate's own key)
    #: holds, and never without one
    unsure: bool = False


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

#: Full-size QR codes only.  In zxing-cpp 3, `QRCode` also names the Micro QR and rMQR
#: family, and a Micro QR is small enough to be "found" in cloth's weave or a wrinkle (a
#: development cloth frame read as "44264"); no pass is printed as one.
QR_FORMATS = (() if zxingcpp is None else
              (zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2))


def _zxing(gray: np.ndarray, binarizer=None) -> list[DecodeResult]:
    if zxingcpp is None:
        return []
    kwargs = dict(formats=QR_FORMATS, text_mode=zxingcpp.TextMode.Plain)
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


def qr_soft(view) -> list[DecodeResult]:
    """Our own QR decoder on a bent grid's soft module values (`scanner.qrsoft`): errors
    and erasures where the libraries see errors only.  It takes the *view* (the chain
    passes views to decoders marked `takes_view`), and reads nothing but a `WarpedView`."""
    try:
        make = getattr(view, "soft", None)
        if make is None:
            return []
        unsure: dict[str, None] = {}
        n = 0
        for soft in make():  # the next estimate only while none reads
            n = soft.shape[0]
            read, maybe = soft_reads(soft)
            if read is not None:
                return [DecodeResult(clean_text(read.text), _grid_corners(n), corrected=True)]
            unsure.update((clean_text(r.text), None) for r in maybe)
        return [DecodeResult(text, _grid_corners(n), corrected=True, unsure=True)
                for text in unsure]
    except Exception:  # noqa: BLE001 - a decoder must never take the gate down
        return []


qr_soft.takes_view = True


def _grid_corners(n: int) -> np.ndarray:
    """The corners of an n x n module grid in its clean code's pixels (`warp.BOX` a module,
    `warp.QUIET` modules of margin)."""
    lo, hi = QUIET * BOX, (QUIET + n) * BOX
    return np.float32([[lo, lo], [hi, lo], [hi, hi], [lo, hi]])


def zxing_then_soft(view) -> list[DecodeResult]:
    """zxing on a bent grid's clean code, and where it reads nothing, our soft decoder on
    the same grid's module values: a folded card's creased grid is often right but for a
    few modules along a crease, which zxing counts as errors and the soft decoder erases.
    One decoder rather than two chain steps because the live camera's next frame would
    have to fit the grid again (a creased grid: ~30 ms) just to let the second one see it."""
    return DECODERS["zxing"](getattr(view, "image", view)) or qr_soft(view)


def zxing_then_sure_soft(view) -> list[DecodeResult]:
    """`zxing+qr-soft` where the soft decoder (~11 ms a grid) runs only on a grid whose
    anchors agree at least SURE_ANCHORS (`qrgrid.anchor_agreement`): the bent mesh's grids
    come one per size guessed, and the time a wrong size's grid would spend is the creased
    and seeded grids' (which the slanted folds need) on the next frames."""
    read = DECODERS["zxing"](getattr(view, "image", view))
    if read or getattr(view, "anchors", 1.0) < SURE_ANCHORS:
        return read
    return qr_soft(view)


#: On development folds the bent mesh's grids the soft decoder read (and zxing did not)
#: agreed 0.69 (one), 0.89-0.95; those of a wrong size at most 0.76.  At 0.65 the soft
#: reads took two late folds' time (read by the seeded grids, the last step); at 0.85 one
#: of 200 (seed 412); at 0.9 the soft decoder no longer reads development seeds 13 (bent)
#: and 15 (folded).
SURE_ANCHORS = 0.85


zxing_then_soft.takes_view = zxing_then_sure_soft.takes_view = True

DECODERS: dict[str, Decoder] = {
    "zxing": _guarded(zxing),
    "zxing-global": _guarded(zxing_global),
    "zbar": _guarded(zbar),
    "opencv": _guarded(opencv),
    "opencv-aruco": _guarded(opencv_aruco),
    "qr-soft": qr_soft,
    "zxing+qr-soft": zxing_then_soft,
    "zxing+sure-soft": zxing_then_sure_soft,
}

#: The decoders benchmarked "alone", one per library.
SINGLE_DECODERS = ("zxing", "zbar", "opencv", "opencv-aruco")


# --------------------------------------------------------------------------- views

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


#: The bent grids (`unwarp`, `creased`, `unwarp-seeded`) skip a crop whose focus blur is
#: this or more (`deblur.SeenBlur.sigma`, px at the deblurring size): on a blurred code's
#: finders they sample nothing a decoder reads (every crop they read on development seeds
#: 401-431 measured 1.23 or less), and their 50-120 ms held `code-box` back.
BENT_BLUR_LIMIT = 1.6


def _sharp_only(bent: Preprocessor) -> Preprocessor:
    """`bent`, declining a clearly blurred crop (`BENT_BLUR_LIMIT`)."""
    @functools.wraps(bent)
    def preprocessor(view: View):
        if seen_blur(view.image).sigma >= BENT_BLUR_LIMIT:
            return []
        return bent(view)
    return preprocessor


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
    "code-box": code_box,
    "deblur": deblur,
    "unwarp": _sharp_only(unwarp),
    "unwarp-seeded": _sharp_only(unwarp_seeded),
    "deblur-grid": deblurred_grids,
    "denoise-grid": denoised_grid,
    "creased": _sharp_only(creased),
    "outline": outlined_grid,
    "outline-box": outline_box,
}
