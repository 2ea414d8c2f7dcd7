"""How big is the code: the finders' homography for a size, and which sizes the crop agrees with.

Three finder patterns fix a code's corners but not its size: the finders' spacing divided
by their module width names a version, and on a flat card it is right.  On a fold it
misleads (a slanted panel shrinks the finders' modules, not their distance), so the sizes
near it are ranked by the modules every code of that size has (`qrgrid.known_modules`:
timing rows, alignment patterns, version blocks) read through the finders' homography.
"""
from __future__ import annotations

import cv2
import numpy as np

from .alignment import sample
from .finders import Finder, versions
from .qrgrid import MAX_VERSION, with_quiet_ring

#: Sizes a code's grids are grown for, and how many versions from the finders' spacing.
SIZES_TRIED, SIZE_REACH = 3, 2


def fit_homography(trio: tuple[Finder, Finder, Finder], n: int) -> np.ndarray | None:
    """Module coordinates -> pixels from the finders' centres and the corners matched to them
    (the centres' affine map when no corner matches: a homography needs four points)."""
    origins = ((0, 0), (n - 7, 0), (0, n - 7))
    centres = np.float32([[x + 3.5, y + 3.5] for x, y in origins])
    affine = cv2.getAffineTransform(centres, np.float32([f.centre for f in trio]))
    src, dst = list(centres), [f.centre for f in trio]
    for f, (x, y) in zip(trio, origins):
        square = np.float32([[x, y], [x + 7, y], [x + 7, y + 7], [x, y + 7]])
        for uv, guess in zip(square, square @ affine[:, :2].T + affine[:, 2]):
            d = np.linalg.norm(f.corners - guess, axis=1)
            if d.min() < 2 * f.module:
                src.append(uv)
                dst.append(f.corners[int(d.argmin())])
    if len(src) < 4:  # no corner matched (blurred or clipped finders): the affine fit
        return np.vstack([affine, [0.0, 0.0, 1.0]])
    hom, _ = cv2.findHomography(np.float32(src), np.float32(dst), 0)
    return hom


def known_agreement(norm: np.ndarray, hom: np.ndarray, n: int, ring: bool = False) -> float:
    """How well the modules every code of size n has (and with `ring` the quiet zone's
    ring around it) agree with `norm` through `hom`: the mean of -1..1 per module."""
    known, sign, centres = with_quiet_ring(n)
    pick = known.copy()
    if not ring:
        pick[0, :] = pick[-1, :] = pick[:, 0] = pick[:, -1] = False
    pick = pick.ravel()
    vals = sample(norm, cv2.perspectiveTransform(centres[pick][None], hom)[0])
    return float(np.mean(vals * sign.ravel()[pick].astype(np.float64)))


def scored_sizes(trio: tuple[Finder, Finder, Finder], norm: np.ndarray
                 ) -> list[tuple[float, int, int]]:
    """(agreement, minus the versions from the finders' spacing, n) of every size within
    `SIZE_REACH` versions of the spacing, best first: how well its known modules agree with
    the crop through the finders' homography (ties: the nearer the spacing, the likelier)."""
    near = versions(*trio)
    if not near:
        return []
    scored = []
    for version in range(max(1, near[0] - SIZE_REACH), min(MAX_VERSION, near[0] + SIZE_REACH) + 1):
        n = 17 + 4 * version
        hom = fit_homography(trio, n)
        if hom is not None:
            scored.append((known_agreement(norm, hom, n), -abs(version - near[0]), n))
    return sorted(scored, reverse=True)


def likely_sizes(scored: list[tuple[float, int, int]]) -> list[int]:
    """The `SIZES_TRIED` best of `scored_sizes`.

    Of 121 development folded codes the spacing named the right size first for 102 and
    not at all for 2; the known modules first for 116, and among the three best for all."""
    return [n for *_, n in scored[:SIZES_TRIED]]
