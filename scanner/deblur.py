"""Undoing blur on a crop around a code: estimate the blur, then Wiener-deconvolve it.

Gate webcams see two kinds of blur: focus blur (round, a Gaussian) when a card is held
too close or too far, and hand shake (a straight smear).  `deblur` is the preprocessor the
chain's rescue steps use (see `scanner.decoders.PREPROCESSORS`); the estimates
(`focus_sigma`, `estimate_blur`) and the `Deconvolver` are here so they can be tested and
read on their own.  Every function takes and returns plain 2-D uint8 images or `View`s.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterator

import cv2
import numpy as np

from .views import RecentCrops, View

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


def cepstral_smear(gray: np.ndarray) -> tuple[float, float] | None:
    """(length px, angle rad) of a straight smear from the crop's cepstrum, or None.

    A box blur of length L along u multiplies the spectrum by a sinc, whose logarithm has
    regular deep dips; the cepstrum (the transform of the log spectrum) turns them into a
    negative peak at +-L u.  It measures the direction from the smear alone, where the
    structure tensor (`_blur_guesses`) is pulled towards the code's own edges.  The code's
    modules, squares of one pitch, look like a smear of that length along both of the
    code's axes at once: a dip with a twin of about the same depth a quarter turn away is
    that grid, not the smear, and the next dip is taken."""
    s = min(1.0, 256.0 / max(gray.shape))
    f = gray.astype(np.float32)
    if s < 1.0:
        f = cv2.resize(f, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    h, w = f.shape
    if min(h, w) < 16:
        return None
    spec = cv2.dft((f - f.mean()) * cv2.createHanningWindow((w, h), cv2.CV_32F),
                   flags=cv2.DFT_COMPLEX_OUTPUT)
    logmag = np.log(cv2.magnitude(spec[..., 0], spec[..., 1]) + 1e-3)
    ceps = np.fft.fftshift(cv2.dft(logmag, flags=cv2.DFT_COMPLEX_OUTPUT)[..., 0])
    cy, cx = h // 2, w // 2
    yy, xx = np.mgrid[0:h, 0:w] - np.array([cy, cx])[:, None, None]
    r = np.hypot(yy, xx)
    ring = np.rint(r).astype(np.int32)  # what every direction has (the image's own falloff)
    ceps -= (np.bincount(ring.ravel(), ceps.ravel()) / np.bincount(ring.ravel()))[ring]
    ceps[(r < 3) | (r > min(45.0, min(cy, cx) - 2))] = np.inf
    for _ in range(GRID_DIPS + 1):
        iy, ix = np.unravel_index(int(np.argmin(ceps)), ceps.shape)
        depth = ceps[iy, ix]
        if not np.isfinite(depth):
            return None
        dy, dx = iy - cy, ix - cx
        twin = ceps[np.clip(np.rint([cy + dx, cy - dx]).astype(int), 0, h - 1),
                    np.clip(np.rint([cx - dy, cx + dy]).astype(int), 0, w - 1)]
        if twin.min() > TWIN_DEPTH * depth:  # no twin a quarter turn away: the smear
            dy += _vertex(ceps[iy - 1, ix], depth, ceps[iy + 1, ix])
            dx += _vertex(ceps[iy, ix - 1], depth, ceps[iy, ix + 1])
            return float(np.hypot(dx, dy) / s), float(np.arctan2(dy, dx) % np.pi)
        for y, x in ((dy, dx), (dx, -dy)):  # the module grid: leave both of its axes out
            near = np.minimum(np.hypot(yy - y, xx - x), np.hypot(yy + y, xx + x)) < 2.5
            ceps[near] = np.inf
    return None


def _vertex(a: float, b: float, c: float) -> float:
    """Sub-sample offset of a parabola's vertex through three samples (0 when flat)."""
    den = a - 2 * b + c
    return 0.5 * (a - c) / den if np.isfinite(den) and den > 0 else 0.0


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
#: The cepstrum's smear is tried too unless a guess before it had about its direction
#: (radians) and length (px): a close direction with another length is still worth a try
#: (development shaken codes, no budget: 4 of 7 misses more read than with 2 degrees apart).
SAME_DIRECTION, SAME_LENGTH = np.radians(1.0), 0.5
#: A cepstral dip whose twin a quarter turn away is at least this share as deep is taken
#: for the module grid (`cepstral_smear`), at most this many times before giving up.
TWIN_DEPTH, GRID_DIPS = 0.6, 2


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

#: A code with a glare spot on it gets one more guess, the estimate at a lower NSR: a blur
#: of more than half a module leaves the modules around the clipped spot too grey at 0.01
#: (docs/benchmark-decoders.md, "Fourth pass").  Only then, and last: every crop paying for
#: one more guess would delay the warp steps after `deblur`, and a soft code without glare
#: is read as often by the guesses before it.
GLARE_GUESS = (1.0, 0.003)

#: Pixels from this level on are taken for clipped.  A glare spot is one blob of them
#: covering at least GLARE_SHARE of the crop's middle and holding most (SPOT_SHARE) of its
#: clipped pixels: white paper in a bright photo clips in many small patches (the modules
#: between dark ones), which is no reason for another guess.
CLIPPED = 250
GLARE_SHARE = 0.001
SPOT_SHARE = 0.5


def has_glare(work: np.ndarray) -> bool:
    """Whether the middle of a crop (where the code is) holds a clipped glare spot."""
    h, w = work.shape
    clipped = (work[h // 5:h - h // 5, w // 5:w - w // 5] >= CLIPPED).astype(np.uint8)
    total = int(clipped.sum())
    if total < GLARE_SHARE * clipped.size:
        return False
    stats = cv2.connectedComponentsWithStats(clipped, connectivity=8)[2]
    spot = int(stats[1:, cv2.CC_STAT_AREA].max())
    return spot >= GLARE_SHARE * clipped.size and spot >= SPOT_SHARE * total


@dataclasses.dataclass(frozen=True)
class SeenBlur:
    """What `deblur` measures of a crop before it guesses: the crop at the working size
    (`work`, `factor` times the crop), the focus blur's sigma and the likeliest smears
    (length and angle, crop pixels), and how directional the middle's edges run."""

    work: np.ndarray
    factor: float
    sigma: float
    guesses: list
    anisotropy: float

    @property
    def length(self) -> float:
        """The likeliest smear's length at the working size."""
        return self.guesses[0][0] * self.factor

    @property
    def shaken(self) -> bool:
        return self.anisotropy >= SHAKE_ANISOTROPY and \
            2.5 <= self.length <= 0.25 * min(self.work.shape)

    @property
    def sharp(self) -> bool:
        return self.sigma < SHARP_SIGMA and not self.shaken


#: The last crops' measures (a SeenBlur per crop image): the bent grids' steps and
#: `regions.code_box` ask again of the crops the deblurring step measured.
_recent = RecentCrops()


def seen_blur(img: np.ndarray) -> SeenBlur:
    """Measure a crop's blur at the working size (`SeenBlur`), once per crop."""
    seen = _recent.get(img)
    if seen is None:
        seen = _measure(img)
        _recent.keep(img, seen)
    return seen


def _measure(img: np.ndarray) -> SeenBlur:
    factor = DEBLUR_SIDE / max(img.shape)
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    work = cv2.resize(img, None, fx=factor, fy=factor, interpolation=interp)
    guesses, _ = _blur_guesses(img)
    # the tensor of the crop's middle: a card's edge or text lines around the code would
    # make a round blur look directional
    h, w = work.shape
    middle, _ = _structure(work[h // 5:h - h // 5, w // 5:w - w // 5].astype(np.float32))
    return SeenBlur(work, factor, focus_sigma(work), guesses, middle or 0.0)


def deblur(view: View) -> Iterator[Callable[[], View]]:
    """Undo focus blur (Gaussian) or hand shake (a line kernel along the measured direction).

    Meant for crops: the estimates assume the crop is mostly code.  Works at a fixed size
    (upscaling small crops first) and declines when the crop looks sharp.  A generator:
    the guesses are ordered by how likely they are, and the later ones (other sizes, the
    other kind of blur) cost nothing unless the chain has time left and asks.
    """
    img = view.image
    seen = seen_blur(img)
    if seen.sharp:
        return
    work, factor, sigma, guesses = seen.work, seen.factor, seen.sigma, seen.guesses
    length, anisotropy, shaken = seen.length, seen.anisotropy, seen.shaken
    spectrum = functools.cache(lambda: Deconvolver(work, int(max(length, 4 * sigma)) + 2))
    clipped = work >= CLIPPED

    def guess(transfer, nsr: float) -> Callable[[], View]:
        # deferred: the chain can step over a guess it tried on the previous frame for free
        return lambda: dataclasses.replace(view.derive(spectrum()(transfer, nsr), scale=factor),
                                           clipped=clipped)

    def focus():
        for k, nsr in FOCUS_GUESSES:
            yield guess(focus_transfer(sigma * k), nsr)
        if has_glare(work):  # looked at only when the chain gets this far (~1 ms)
            k, nsr = GLARE_GUESS
            yield guess(focus_transfer(sigma * k), nsr)

    def shake():
        tried = guesses[:1] if length < LONG_SMEAR else guesses
        for g_length, g_angle in tried:
            yield guess(shake_transfer(g_length * factor, g_angle), 0.01)
        other = cepstral_smear(img)  # computed only when the chain gets this far (2-8 ms)
        if other is not None and 2.5 <= other[0] * factor <= 0.25 * min(work.shape) and \
                not any(_turn(other[1], a) < SAME_DIRECTION and abs(other[0] - g) < SAME_LENGTH
                        for g, a in tried):
            yield guess(shake_transfer(other[0] * factor, other[1]), 0.01)

    if not shaken:
        yield from focus()
        return
    if sigma < SHARP_SIGMA or anisotropy >= CLEARLY_SHAKEN:
        yield from shake()
        if sigma >= SHARP_SIGMA:
            yield from focus()
        return
    yield from _alternate(shake(), focus())  # in between: either may be right


def _turn(a: float, b: float) -> float:
    """The angle between two directions (radians, modulo half a turn)."""
    d = abs(a - b) % np.pi
    return min(d, np.pi - d)


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
