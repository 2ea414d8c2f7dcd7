"""A code found by its outline where none of its finders is: one flat grid for the soft decoder.

A code shaken by three or four modules, or blurred by most of one, loses its finders'
rings first: the contour search (`finders.find_finders`) needs a light ring between the
dark outline and the stone, and a smear that wide fills it in.  Deblurring brings the
modules back well enough for the soft decoder, yet not always the rings, so the grids that
start from the finders (`flatfit`, `warp`) have nothing to start from.

The code is still the one patch of the crop where edges run in every direction
(`regions.textured`), and a code is square.  So its outline is that patch's smallest
turned rectangle; each of the four corners may be the top-left one and each version's
size may be the code's, and the one whose finders, timing rows and quiet zone agree best
with the crop is taken (`known_agreement`), then its corners are fitted as for a code
whose finders were found (`flatfit.fit_corners`); of the sizes a version either side,
the one that agrees best once fitted is read by the soft decoder.  `outline_box` cuts the
crop down to the outline first, so that the blur is measured on the code alone.

Measured on development seeds 401-431 (never 7, 8 or 19): of the frames no step read,
eight were read by the soft decoder through the generator's own outline moved by up to a
module at each corner; through the outline found here, five of six without a time budget,
and two more in `chain-still` (the last two steps of the chain).
"""
from __future__ import annotations

from typing import Callable, Iterator

import cv2
import numpy as np

from .darkness import normalised
from .deblur import deblur
from .finders import Finder
from .flatfit import darkness_fitted, fit_corners
from .located import FoundCode
from .qrgrid import MAX_VERSION
from .regions import TEXTURE_WINDOW, full_size, textured
from .sizing import known_agreement
from .views import View
from .warp import Grid, grid_view

#: A patch is the code's where its texture stands out this much of the way from the crop's
#: median to the code's level (`PLATEAU`): half way, where a blurred edge is.
TEXTURE_LEVEL = 0.5
#: The texture is averaged over this share of the crop's side first: at the deblurring
#: size a large code's modules are 8-10 px, and over `TEXTURE_WINDOW` alone its texture
#: breaks up into patches at the module corners.
SPREAD = 0.02
#: The code's texture level: this percentile of the crop's (a code fills a good part of it).
PLATEAU = 95
#: The outline is looked for inside this share of the crop's width and height around its
#: middle, where `regions` and `code_box` put the code.
MIDDLE = 0.9
#: Outlines smaller than this (px at the crop's size) hold no code the soft decoder reads;
#: a longer side over SQUARE times the shorter is no code seen nearly face on.
MIN_OUTLINE, SQUARE = 40, 1.6


def outline(gray: np.ndarray) -> np.ndarray | None:
    """The four corners (clockwise in the image, float32) of the patch where edges run in
    every direction, or None when the crop has no such patch.

    The texture is weighed over `TEXTURE_WINDOW`, so the patch reaches half a window past
    the code's edge on every side: its rectangle is taken in by that much.  (On crops cut
    around the six development codes it was measured on, the corners then lie 0.8-2
    modules from the generator's: the fitted corners of `outlined_code` take it from there.)"""
    h, w = gray.shape
    reach = max(3, int(max(h, w) * SPREAD) | 1)
    energy = cv2.blur(textured(gray), (reach, reach))
    top, floor = float(np.percentile(energy, PLATEAU)), float(np.median(energy))
    if top - floor <= 1.0:
        return None
    mask = (energy > floor + TEXTURE_LEVEL * (top - floor)).astype(np.uint8)
    count, labels, stats, centres = cv2.connectedComponentsWithStats(mask)
    best, best_area = 0, 0
    for i in range(1, count):
        cx, cy = centres[i]
        inside = abs(cx - w / 2) < MIDDLE * w / 2 and abs(cy - h / 2) < MIDDLE * h / 2
        if inside and stats[i, cv2.CC_STAT_AREA] > best_area:
            best, best_area = i, stats[i, cv2.CC_STAT_AREA]
    if not best:
        return None
    (cx, cy), (rw, rh), angle = cv2.minAreaRect(cv2.findNonZero((labels == best).astype(np.uint8)))
    rw, rh = rw - (TEXTURE_WINDOW - 1), rh - (TEXTURE_WINDOW - 1)
    if min(rw, rh) < MIN_OUTLINE or max(rw, rh) > SQUARE * min(rw, rh):
        return None
    corners = cv2.boxPoints(((cx, cy), (rw, rh), angle)).astype(np.float32)
    turn = np.arctan2(corners[:, 1] - cy, corners[:, 0] - cx)
    return corners[np.argsort(turn)]  # clockwise with y down


def likely_grids(gray: np.ndarray, corners: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(size n, homography module coordinates -> pixels) of the likeliest ways to read the
    outline: the corner that is the top-left one where the finders, timing rows and
    quiet-zone ring agree best with the crop, at the size that agrees best and the sizes a
    version either side (the outline is good to a module or so: the fitted corners tell)."""
    norm = normalised(gray, _side(corners) / 33)  # a mid-sized code's module: the size is not known
    scored = []
    for turn in range(4):
        quad = np.roll(corners, -turn, axis=0)
        for version in range(1, MAX_VERSION + 1):
            n = 17 + 4 * version
            square = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
            hom = cv2.getPerspectiveTransform(square, quad)
            scored.append((known_agreement(norm, hom, n, ring=True), turn, n, hom))
    _, best_turn, best_n, _ = max(scored, key=lambda item: item[0])
    return [(n, hom) for _, turn, n, hom in scored if turn == best_turn and abs(n - best_n) <= 4]


def outlined_code(view: View) -> tuple[FoundCode, int, np.ndarray] | None:
    """(code, size, homography) as `flatfit.likeliest_code` gives them, from the crop's
    outline instead of its finders: of the likely sizes, the one whose known modules agree
    best once its corners are fitted.  The finders are where the grid puts them (the grid
    and the soft decoder start from a `FoundCode`, not from the finders themselves)."""
    gray = view.image
    corners = outline(gray)
    if corners is None:
        return None
    best, best_pick = -np.inf, None
    side = _side(corners)
    for n, hom in likely_grids(gray, corners):
        found = _code_at(view, hom, n, side / n)
        fitted = fit_corners(hom, n, darkness_fitted(found), found.module)
        agreement = known_agreement(found.norm, fitted, n, ring=True)
        if agreement > best:
            best, best_pick = agreement, (found, n, fitted)
    return best_pick


def _side(corners: np.ndarray) -> float:
    """The mean side (px) of a quadrilateral."""
    return float(np.mean([np.linalg.norm(corners[k] - corners[k - 1]) for k in range(4)]))


def _code_at(view: View, hom: np.ndarray, n: int, module: float) -> FoundCode:
    """A `FoundCode` whose finders are where the grid through `hom` puts them."""
    finders = []
    for x, y in ((0, 0), (n - 7, 0), (0, n - 7)):
        square = np.float32([[[x, y], [x + 7, y], [x + 7, y + 7], [x, y + 7]]])
        outer = cv2.perspectiveTransform(square, hom)[0]
        finders.append(Finder(outer.mean(0).astype(float), module, outer))
    gray = view.image
    return FoundCode(view, 1.0, tuple(finders), module, normalised(gray, module), gray)


def outlined_grid(view: View) -> Iterator[Callable[[], View | None]]:
    """The chain's preprocessor, for a deblurred crop: its code through one homography
    fitted from the code's outline (`outlined_code`), drawn for the soft decoder."""
    def fitted() -> View | None:
        pick = outlined_code(view)
        return None if pick is None else grid_view(pick[0], Grid(pick[2], pick[1]))
    yield fitted


def outline_box(view: View) -> list[View]:
    """The crop cut down to its code's outline (as the first deblurring guess shows it) and
    a margin of a quarter of its side: the blur is then measured on the code alone."""
    first = next(deblur(view), None)
    if first is None:
        return []
    shrunk = first()
    corners = outline(shrunk.image)
    if corners is None:
        return []
    box = cv2.boundingRect(corners.astype(np.float32))
    (x0, y0, x1, y1), = full_size([box], shrunk.scale / view.scale, *view.image.shape,
                                  pad=0, min_side=0)
    return [view.derive(view.image[y0:y1, x0:x1], crop_xy=(x0, y0))]
