"""Where in a camera frame the codes are: crops for the chain's costly rescue steps.

The costly steps (zooming, deblurring, the bent grid) cannot afford the whole frame, and
the decoders' own locators miss codes too small, blurred or dim; so `regions` crops the
densest patches of edges (`find_regions`), best first, and the steps work on a few hundred
pixels each.  A preprocessor of the chain (`scanner.decoders.PREPROCESSORS`).
"""
from __future__ import annotations

import cv2
import numpy as np

from .deblur import DEBLUR_SIDE, deblur, seen_blur
from .views import View

#: Smaller than the 21x21 modules of a version-1 QR code cannot hold one.
MIN_SIDE = 21


def find_regions(gray: np.ndarray, max_regions: int = 2) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around the densest patches of edges, best first.

    A QR code is the most edge-dense thing a gate camera sees, whatever its condition, so
    this finds codes too small, blurred or dim for the decoders' own locators, and lets the
    costly steps work on a few hundred pixels instead of the whole frame.  A strong blur
    takes the code's edges down below a card's outline and the lines behind it, which then
    join into one box as large as the frame; the code is then looked for where the edges
    run in every direction (`textured`), and that box comes first.
    """
    h, w = gray.shape
    s = min(1.0, 320.0 / max(h, w))
    small = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gray
    small = cv2.GaussianBlur(small, (0, 0), 0.8)  # sensor noise is not edges
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    flat = _flat_floor(small)
    found = _dense_boxes(cv2.blur(grad.astype(np.float32), (9, 9)), max_regions, flat)
    if found and found[0][2] * found[0][3] > LARGE_REGION * small.shape[0] * small.shape[1]:
        found = _dense_boxes(textured(small), 1, flat) + found[1:]
    return full_size(found, s, h, w)


def full_size(found: list[tuple[int, int, int, int]], scale: float, h: int, w: int,
              pad: float = 2, min_side: int = MIN_SIDE) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) found at `scale` as (x0, y0, x1, y1) in the h x w image, each
    with a margin of a quarter of its side (the quiet zone, a blur's reach) and `pad` px
    more at `scale`, those under `min_side` left out.  (`outline.outline_box` adds no pad:
    its outline is the code's own, and with 2 px `dev-412/combo_008` was no longer read
    without a budget.)"""
    boxes = []
    for x, y, bw, bh in found:
        m = 0.25 * max(bw, bh) + pad
        x0, y0 = max(0, int((x - m) / scale)), max(0, int((y - m) / scale))
        x1, y1 = min(w, int((x + bw + m) / scale)), min(h, int((y + bh + m) / scale))
        if min(x1 - x0, y1 - y0) >= min_side:
            boxes.append((x0, y0, x1, y1))
    return boxes


#: A box over this share of the frame is no crop: the frame's edges have run together.
LARGE_REGION = 0.4
#: A frame whose densest edges stand out by less than this (grey levels of the smoothed
#: gradient) has nothing to look at, scaled down with the frame's spread of grey levels
#: (1st to 99th percentile) below FULL_SPREAD, to no less than DARKEST_SPREAD's share: a dim
#: frame's code (a third of the light, levels 0-40) has its edges a third as steep, and at
#: the full 8 its patch fell under the floor (development seeds 401 and 402: 2 of 110 dim
#: frames had no crop at all; a covered lens, levels within 16, still has none).  The same
#: floor holds for the texture that finds a code in a box run together (`textured`): 9 of
#: 400 dim frames (development seeds 0-399) had no crop around the code at the full one.
FLAT_EDGES, FULL_SPREAD, DARKEST_SPREAD = 8.0, 128.0, 24.0


def _flat_floor(image: np.ndarray) -> float:
    """`FLAT_EDGES` for this image's spread of grey levels (see there)."""
    lo, hi = np.percentile(image, (1, 99))
    return FLAT_EDGES * min(1.0, max(float(hi - lo), DARKEST_SPREAD) / FULL_SPREAD)


def _dense_boxes(energy: np.ndarray, count: int,
                 flat: float) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the `count` patches where `energy` stands out by `flat` or more
    (`_flat_floor`), best first."""
    peak, floor = float(energy.max()), float(np.median(energy))
    if peak - floor < flat:  # a flat frame: nothing to look at
        return []
    mask = (energy > floor + 0.35 * (peak - floor)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    scored = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area >= 16:
            scored.append((float(energy[labels == i].sum()), (x, y, bw, bh)))
    scored.sort(reverse=True)
    return [box for _, box in scored[:count]]


#: The window (px) over which `textured` weighs the gradients' directions.
TEXTURE_WINDOW = 9


def textured(small: np.ndarray) -> np.ndarray:
    """Where edges run in every direction (a code) rather than one (a line, an outline):
    the smaller eigenvalue of the gradients' structure tensor over a `TEXTURE_WINDOW`
    window, as a gradient size (grey levels)."""
    f = small.astype(np.float32)
    gx, gy = cv2.Sobel(f, cv2.CV_32F, 1, 0), cv2.Sobel(f, cv2.CV_32F, 0, 1)
    window = (TEXTURE_WINDOW, TEXTURE_WINDOW)
    jxx, jyy, jxy = (cv2.blur(a, window) for a in (gx * gx, gy * gy, gx * gy))
    half = (jxx + jyy) / 2
    smaller = half - np.sqrt(np.maximum(half * half - (jxx * jyy - jxy * jxy), 0))
    return np.sqrt(np.maximum(smaller, 0)) / 4  # Sobel's gain of 4


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


#: A crop this much larger than the deblurring size is deblurred shrunk (`code_box`).
ZOOM_FROM = 1.2
#: A box over this share of the crop is no zoom: the crop itself was the code's box.
ZOOMED_SHARE = 0.6
#: A smaller crop, down to this, is zoomed only when it is clearly blurred (a focus blur of
#: CLEARLY_BLURRED px and more at the deblurring size) or shaken: a small code in a
#: card-sized box has modules under 2 px at the deblurring size, and no finder is found.
#: A folded card's crease reads as a faint blur (~1 px), and its sharp crop's grids need
#: the time.
SMALL_ZOOM_FROM, CLEARLY_BLURRED = 0.5, 1.3


def code_box(view: View) -> list[View]:
    """The code's own box inside a crop too large to deblur at full size, cropped at full
    size (a card-sized crop, from `SMALL_ZOOM_FROM`, only when clearly blurred or shaken).

    A blurred or shaken code's edges fall below a card's outline and the text and lines
    around it, so its regions box can hold the whole card and more (1,000 px and up).
    Deblurred at `deblur.DEBLUR_SIDE`, its modules then shrink under 2 px and no finder is
    found.  Deblurred once at that size (the first guess), the code's edges run in every
    direction again where the text's and outlines' do not (`textured`); that box goes
    to the deblurring steps again, which now measure the blur on the code alone.
    """
    img = view.image
    side = max(img.shape)
    if side <= SMALL_ZOOM_FROM * DEBLUR_SIDE:
        return []
    seen = seen_blur(img)
    if side <= ZOOM_FROM * DEBLUR_SIDE and not (seen.shaken or seen.sigma >= CLEARLY_BLURRED):
        return []
    first = next(deblur(view), None)  # the blur measured above, not again (`seen_blur`)
    if first is None:  # a sharp crop: a far code is found by the other steps
        return []
    shrunk = first()
    h, w = img.shape
    texture = _dense_boxes(textured(shrunk.image), 1, _flat_floor(shrunk.image))
    boxes = full_size(texture, shrunk.scale / view.scale, h, w)
    return [view.derive(img[y0:y1, x0:x1], crop_xy=(x0, y0)) for x0, y0, x1, y1 in boxes
            if (x1 - x0) * (y1 - y0) < ZOOMED_SHARE * h * w]
