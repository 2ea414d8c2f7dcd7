"""A flat code's four corners, fitted to the modules every code has.

The finders give a homography good to a fraction of a module near them, but on a blurred
code their outlines are soft and the error grows across the code: half a module off at the
far corner puts every sample there on a module edge.  The bent mesh (`scanner.warp`) can
follow a card's curve but, on a blurred code, also follows the blur's noise.  For a flat
code the right model is one homography, so this moves its four corners (a few shifts each,
coarse to fine) to where the known modules (finders, timing, alignment, quiet zone) match
and the data modules look most like modules, as the mesh does for each control point,
in the darkness the soft decoder samples (`darkness_fitted`).

Measured on a development seed's glare-on-blur frames (11, never seed 19): the soft decoder
read 9 of 20 through the finders' homography, 12 after the fit, and 12 through the true one
the generator used.

`deblurred_grids` is the chain's preprocessor for it: one such grid per deblurring guess,
each a deferred thunk as the guesses are, so that the chain steps over the guesses it tried
on the previous frame without paying for them again (a nested `deblur,unwarp` pipeline
would have to deblur and find the finders of every guess it steps over).
"""
from __future__ import annotations

import functools
from typing import Callable, Iterator

import cv2
import numpy as np

from .alignment import sample
from .deblur import deblur
from .finders import versions
from .located import find_codes
from .qrgrid import with_quiet_ring
from .sizing import known_agreement
from .views import View
from .warp import Grid, grid_view

#: Corner shifts tried, in module widths: each step halves once no shift of it helps.
STEPS = (0.5, 0.25, 0.125)
#: Passes over the four corners per step.
PASSES = 2
_SHIFTS = np.float32([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy])


@functools.lru_cache(maxsize=16)
def _layout(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(module centres with the quiet-zone ring, known signs, data weights, the code's
    corners) in module coordinates, for a code of size n."""
    known, sign, uv = with_quiet_ring(n)
    known, sign = known.ravel(), sign.ravel()
    square = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    return uv, 2.0 * sign * known, (~known).astype(np.float32), square


def fit_corners(hom: np.ndarray, n: int, norm: np.ndarray, module: float) -> np.ndarray:
    """The homography (module coordinates -> pixels) whose corners best fit `norm` (a map of
    darkness, dark > 0), starting from `hom`: a known module scores its agreement twice, a
    data module its contrast."""
    uv, known_sign, free, square = _layout(n)
    corners = cv2.perspectiveTransform(square[None], hom)[0]

    def scores(candidates: list[np.ndarray]) -> np.ndarray:
        pts = np.concatenate([
            cv2.perspectiveTransform(uv[None], cv2.getPerspectiveTransform(square, c))[0]
            for c in candidates])
        vals = sample(norm, pts).reshape(len(candidates), -1)
        return vals @ known_sign + np.abs(vals) @ free

    best = float(scores([corners])[0])
    for step in STEPS:
        for _ in range(PASSES):
            improved = False
            for k in range(4):
                candidates = []
                for shift in _SHIFTS * np.float32(step * module):
                    moved = corners.copy()
                    moved[k] += shift
                    candidates.append(moved)
                got = scores(candidates)
                if got.max() > best:
                    best, corners, improved = float(got.max()), candidates[int(got.argmax())], True
            if not improved:
                break
    return cv2.getPerspectiveTransform(square, corners.astype(np.float32))


def likeliest_code(codes: list) -> tuple[object, int, np.ndarray] | None:
    """Of the codes found (`located.find_codes`) and the sizes their finders' spacing allows,
    the (code, size, the finders' homography) whose known modules and quiet-zone ring
    agree best with the crop (per module: sizes differ in how many they have)."""
    best, best_pick = -np.inf, None
    for found in codes:
        for version in versions(*found.trio):
            n = 17 + 4 * version
            hom = found.homography(n)
            if hom is None:
                continue
            agreement = known_agreement(found.norm, hom, n, ring=True)
            if agreement > best:
                best, best_pick = agreement, (found, n, hom)
    return best_pick


def _flat_view(guess) -> View | None:
    view = guess() if callable(guess) else guess
    pick = likeliest_code(find_codes(view)) if view is not None else None
    if pick is None:
        return None
    found, n, hom = pick
    return grid_view(found, Grid(fit_corners(hom, n, darkness_fitted(found), found.module), n))


def darkness_fitted(found) -> np.ndarray:
    """What the corners are fitted to: the soft decoder's own samples (`equalise.detail`),
    not the warp's `norm`.  Divided by the local contrast, `norm` saturates (a blurred
    module looks as dark as a sharp one) and, under a glare dome, drew the corners 0.2-0.6
    modules off the generator's true ones, where the detail's optimum is within 0.05-0.26
    (development glare-blur, the soft step alone: 158 of 170 read fitted to `norm`, 160
    fitted to the detail; other conditions the same)."""
    return found.detail_map


#: How much a dim crop's sensor noise is smoothed before its finders are looked for and its
#: grid sampled (pixels of the crop as `enlarge` left it): about a module's third on the
#: small dim codes it is for.  0.7 and 1.4 read the same frames, 2.0 fewer (development seeds
#: 401 and 402).
DENOISE_SIGMA = 1.0


def denoised_grid(view: View) -> Iterator[Callable[[], View | None]]:
    """For a dim, noisy crop: its code through one fitted homography after the noise is
    smoothed.  A third of the light leaves a code's levels 0-40 under noise of 5-11 grey
    levels: the binarisers' thresholds split modules into speckle, where the soft decoder
    weighs each module's smoothed value and erases the unsure ones."""
    yield functools.partial(_flat_view, view.derive(
        cv2.GaussianBlur(view.image, (0, 0), DENOISE_SIGMA)))


def deblurred_grids(view: View) -> Iterator[Callable[[], View | None]]:
    """For a blurred crop: each deblurring guess's code through one homography fitted to
    it (see the module doc), as deferred thunks in the guesses' order."""
    for guess in deblur(view):
        yield functools.partial(_flat_view, guess)
