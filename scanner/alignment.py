"""Where the alignment patterns really are: seeds for the warp's mesh beyond a crease.

The warp grows its mesh outwards from the finders, each control point searching half a
module around what its neighbours predict.  A crease breaks that prediction: the panel
beyond it turns as a whole, the error grows by a module every few modules, and the grid
slips onto the neighbouring module, which looks just as much like a module.  Only the
modules the standard fixes cannot be mistaken that way, and far from the finders those are
the alignment patterns (one in versions 2-6, a grid of them from version 7).  Each is
searched for over a few modules around where the finders put it (its 5x5 rings are unlike
data) and, when it is clearly there, seeds the mesh on the far side of the crease.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from .qrgrid import alignment_centres

#: How far from the finders' prediction an alignment pattern is looked for, in modules,
#: and the step of that search (then a finer one of +-FINE_STEP around the best).
REACH, STEP, FINE_STEP = 3.0, 0.25, 0.08
#: Agreement in colour (mean over its 25 modules, -1..1) that counts as found.
FOUND = 0.5
#: Alignment patterns this close to a finder (modules) are left to the mesh: the finders'
#: homography is right there already.
NEAR_FINDER = 14


def sample(norm: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """`norm` at the points `xy` (..., 2), bilinear; 0 (undecided) outside the image."""
    pts = np.asarray(xy, np.float32).reshape(-1, 2)
    m = len(pts)
    rows = -(-m // 1024)  # remap's maps are images: keep them under 32767 columns
    grid = np.zeros((rows * 1024, 2), np.float32)
    grid[:m] = pts
    grid = grid.reshape(rows, 1024, 2)
    out = cv2.remap(norm, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return out.ravel()[:m]


@functools.lru_cache(maxsize=1)
def _pattern() -> tuple[np.ndarray, np.ndarray]:
    """(25, 2) module offsets of an alignment pattern from its centre, and +1 dark / -1 light."""
    dy, dx = np.mgrid[-2:3, -2:3]
    ring = np.maximum(np.abs(dx), np.abs(dy))
    sign = np.where(ring == 1, -1.0, 1.0).astype(np.float32).ravel()
    return np.stack([dx.ravel(), dy.ravel()], -1).astype(np.float32), sign


@functools.lru_cache(maxsize=2)
def _trials(step: float, reach: float) -> np.ndarray:
    """(T, 2) shifts in module widths, nearest first (a tie goes to the smaller shift)."""
    axis = np.arange(-reach, reach + 1e-6, step, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    return grid[np.argsort(np.hypot(grid[:, 0], grid[:, 1]), kind="stable")]


def _best(norm: np.ndarray, base: np.ndarray, sign: np.ndarray, trials: np.ndarray,
          module: float) -> tuple[np.ndarray, float]:
    """The trial shift (pixels) where the pattern at `base` (25, 2) agrees most, and how much."""
    moved = base[None] + trials[:, None, :] * np.float32(module)
    score = sample(norm, moved).reshape(len(trials), -1) @ sign / len(sign)
    i = int(score.argmax())
    return trials[i] * np.float32(module), float(score[i])


def seeds(norm: np.ndarray, hom: np.ndarray, n: int,
          module: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(centre in module coordinates, its shift in pixels from the finders' homography)]
    for every alignment pattern away from the finders that is clearly found."""
    offsets, sign = _pattern()
    found = []
    for r, c in alignment_centres(n):
        centre = np.float32([c + 0.5, r + 0.5])
        corners = ((3.5, 3.5), (n - 3.5, 3.5), (3.5, n - 3.5))
        if min(np.hypot(*(centre - np.float32(f))) for f in corners) < NEAR_FINDER:
            continue
        base = cv2.perspectiveTransform((centre + offsets)[None], hom)[0]
        coarse, score = _best(norm, base, sign, _trials(STEP, REACH), module)
        if score < FOUND:
            continue
        fine, score = _best(norm, base + coarse, sign, _trials(FINE_STEP, 2 * FINE_STEP), module)
        found.append((centre, coarse + fine))
    return found
