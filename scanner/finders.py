"""The three finder patterns of a QR code in a crop, and the sizes their spacing suggests.

The warp (`scanner/warp.py`) starts every grid from them: their centres and outer corners
give the homography a mesh then bends, their spacing the likely versions.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from .qrgrid import MAX_VERSION


@dataclass(frozen=True)
class Finder:
    centre: np.ndarray  # (x, y) of the 3x3 stone
    module: float  # module width in pixels
    corners: np.ndarray  # (4, 2) outer corners, any order


def find_finders(bw: np.ndarray) -> list[Finder]:
    """Nested dark-light-dark squares (1:1:3:1:1) in a binary image (dark = 255)."""
    contours, hierarchy = cv2.findContours(bw, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hier = hierarchy[0]
    # only contours with a child and a grandchild can be finders: picked out with numpy,
    # as a Python loop over the thousands of contours of a textured crop costs milliseconds
    hole = hier[:, 2]
    stone_of = np.where(hole >= 0, hier[np.maximum(hole, 0), 2], -1)
    found: list[Finder] = []
    for i in np.flatnonzero(stone_of >= 0):
        c, hole, stone = contours[i], hier[i][2], stone_of[i]
        a0, a1, a2 = (cv2.contourArea(contours[k]) for k in (i, hole, stone))
        if a2 < 4 or not (2.5 < a0 / a2 < 14 and 1.2 < a0 / max(a1, 1) < 4):
            continue
        mom = cv2.moments(contours[stone])
        if mom["m00"] <= 0:
            continue
        centre = np.array([mom["m10"] / mom["m00"], mom["m01"] / mom["m00"]])
        module = float(np.sqrt(a0)) / 7.0
        if any(np.linalg.norm(f.centre - centre) < 2 * module for f in found):
            continue
        corners = cv2.boxPoints(cv2.minAreaRect(c))
        approx = cv2.approxPolyDP(c, 0.08 * cv2.arcLength(c, True), True).reshape(-1, 2)
        if len(approx) == 4:
            corners = approx
        found.append(Finder(centre, module, np.asarray(corners, np.float32)))
    return found


#: A trio of alike finders this near a right angle (|cos| of the angle at the top-left one,
#: plus a tenth of the sizes' spread) is the code's, taken at once (`pick_triple`).
RIGHT_ANGLE = 0.45
#: Up to this one it is only a candidate (`skewed_triples`) that the code's known modules
#: must confirm: a fold seen at a slant skews the angle between the finders of its two
#: panels (development folded, 15 frames missed even without a time budget: 2 more read).
SKEWED_ANGLE = 0.8
#: Finders are alike (of one code) when the largest module width is at most this many
#: times the smallest: for a trio (`pick_triple`, `skewed_triples`) and a pair
#: (`completed_pairs`).
ALIKE_SIZES = 1.8


def _scored_trios(finders: list[Finder]) -> list[tuple[float, tuple[Finder, Finder, Finder]]]:
    """(score, (top-left, top-right, bottom-left)) of every way three alike finders, two of
    them at comparable distances from the third, can be read, the most right-angled first."""
    scored = []
    for trio in itertools.combinations(finders[:8], 3):
        sizes = [f.module for f in trio]
        if max(sizes) > ALIKE_SIZES * min(sizes):
            continue
        for k in range(3):
            tl, a, b = trio[k], trio[(k + 1) % 3], trio[(k + 2) % 3]
            va, vb = a.centre - tl.centre, b.centre - tl.centre
            la, lb = np.linalg.norm(va), np.linalg.norm(vb)
            if min(la, lb) < 8 * tl.module or max(la, lb) > 2.2 * min(la, lb):
                continue
            score = abs(float(va @ vb) / (la * lb)) + 0.1 * (max(sizes) / min(sizes) - 1)
            cross = va[0] * vb[1] - va[1] * vb[0]
            scored.append((score, (tl, a, b) if cross > 0 else (tl, b, a)))
    return sorted(scored, key=lambda item: item[0])


def pick_triple(finders: list[Finder]) -> tuple[Finder, Finder, Finder] | None:
    """(top-left, top-right, bottom-left): the most right-angled triple of alike finders."""
    scored = _scored_trios(finders)
    return scored[0][1] if scored and scored[0][0] < RIGHT_ANGLE else None


def skewed_triples(finders: list[Finder], most: int = 3) -> list[tuple[Finder, Finder, Finder]]:
    """The `most` most right-angled trios beyond `RIGHT_ANGLE` but within `SKEWED_ANGLE`,
    for when `pick_triple` finds none."""
    return [trio for score, trio in _scored_trios(finders)
            if RIGHT_ANGLE <= score < SKEWED_ANGLE][:most]


def _turned(v: np.ndarray, sign: float) -> np.ndarray:
    return np.array([-v[1], v[0]]) * sign


def _stand_in(centre: np.ndarray, module: float, along: np.ndarray) -> Finder:
    """A finder where the other two say it must be: a 7-module square turned like them."""
    u = along / np.linalg.norm(along) * 3.5 * module
    w = _turned(u, 1.0)
    corners = np.float32([centre - u - w, centre + u - w, centre + u + w, centre - u + w])
    return Finder(np.asarray(centre, float), module, corners)


def completed_pairs(finders: list[Finder]) -> list[tuple[Finder, Finder, Finder]]:
    """(top-left, top-right, bottom-left) trios with the third finder stood in, from the
    two alike finders farthest apart: a crease or a glare spot on the third hides it.  The
    pair is a side (the third beyond either end, on either hand) or the diagonal (the third
    on either hand of it): six trios, which the caller tells apart by the known modules."""
    pairs = [(a, b) for a, b in itertools.combinations(finders[:8], 2)
             if max(a.module, b.module) <= ALIKE_SIZES * min(a.module, b.module)
             and np.linalg.norm(a.centre - b.centre) >= 8 * min(a.module, b.module)]
    if not pairs:
        return []
    a, b = max(pairs, key=lambda p: np.linalg.norm(p[0].centre - p[1].centre))
    module = (a.module + b.module) / 2
    trios = []
    for sign in (1.0, -1.0):
        for corner, other in ((a, b), (b, a)):  # a side: the right angle at `corner`
            third = corner.centre + _turned(other.centre - corner.centre, sign)
            trios.append((corner, other, _stand_in(third, module, other.centre - corner.centre)))
        centre = (a.centre + b.centre) / 2 + _turned(b.centre - a.centre, sign) / 2  # diagonal
        trios.append((_stand_in(centre, module, a.centre - centre), a, b))
    ordered = []  # as `pick_triple` orders them: the turn from top-right to bottom-left
    for tl, p, q in trios:
        va, vb = p.centre - tl.centre, q.centre - tl.centre
        ordered.append((tl, p, q) if va[0] * vb[1] - va[1] * vb[0] > 0 else (tl, q, p))
    return ordered


def versions(tl: Finder, tr: Finder, bl: Finder) -> list[int]:
    """Likely QR versions from the finders' spacing, the nearest first."""
    est = []
    for f in (tr, bl):
        m = (tl.module + f.module) / 2
        est.append(np.linalg.norm(f.centre - tl.centre) / m + 7)
    v = (float(np.mean(est)) - 17) / 4
    near = sorted(range(1, MAX_VERSION + 1), key=lambda k: abs(k - v))
    return [k for k in near[:3] if abs(k - v) < 1.6]
