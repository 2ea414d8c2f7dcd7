"""Module darkness maps: how dark each pixel is against its neighbourhood, in -1..1.

Every grid fit (`scanner.warp`, `scanner.flatfit`, `scanner.alignment`) judges a module by
its darkness against the neighbourhood rather than its grey level, so that glare and
shadow across a code cancel out.
"""
from __future__ import annotations

import cv2
import numpy as np

from .finders import Finder


def normalised(gray: np.ndarray, module: float) -> np.ndarray:
    """Darkness in -1..1 against the neighbourhood: glare and shadow cancel out."""
    img = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), max(0.5, 0.25 * module))
    win = int(8 * module) | 1
    mean = cv2.boxFilter(img, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    var = cv2.boxFilter((img - mean) ** 2, -1, (win, win), borderType=cv2.BORDER_REFLECT)
    return np.tanh((mean - img) / (np.sqrt(np.maximum(var, 1.0)) * 0.6))


def normalised_around(gray: np.ndarray, trio: tuple[Finder, Finder, Finder],
                      module: float) -> np.ndarray:
    """`normalised` near the code only, 0 (undecided) elsewhere.

    The code is often a small part of the crop, and normalising the whole crop cost more
    than fitting the grid.  Near the code means its parallelogram through the finders
    widened by a third of its side (a bend bulges) and the quiet zone; the normalisation
    window's own reach is added on top and cut off again, so inside, the values are those
    of the whole crop."""
    tl, tr, bl = (f.centre for f in trio)
    quad = np.array([tl, tr, bl, tr + bl - tl])
    span = max(np.linalg.norm(tr - tl), np.linalg.norm(bl - tl))
    pad = 0.3 * span + 8 * module
    reach = 9 * module + 2  # the blur and the two box filters of `normalised`
    h, w = gray.shape
    lo, hi = quad.min(0) - pad, quad.max(0) + pad
    x0, y0 = np.clip(np.floor(lo).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(hi).astype(int), 0, [w, h])
    ox, oy = np.clip(np.floor(lo - reach).astype(int), 0, [w, h])
    ex, ey = np.clip(np.ceil(hi + reach).astype(int), 0, [w, h])
    norm = np.zeros(gray.shape, np.float32)
    if x1 > x0 and y1 > y0:
        local = normalised(gray[oy:ey, ox:ex], module)
        norm[y0:y1, x0:x1] = local[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return norm
