"""Module values of a blurred code, with the blur undone on the module grid itself.

Deblurring the whole crop (`scanner.deblur`) has to guess the blur and amplifies noise at
every frequency.  Once the bent grid (`scanner.warp`) has found where every module sits, the
blur is a small linear mix of each module with its neighbours, and a code tells us part of
the answer: about a fifth of its modules (finders, separators, timing, alignment) are known
before reading it.  So the mix is *learned* from the known modules by least squares and
then undone: the module values that best explain the samples through that mix, each held
between light and dark.  A glare spot's clipped white has no
detail to sample and stays near 0, which the soft decoder (`scanner.qrsoft`) then erases.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from .alignment import sample
from .qrgrid import with_quiet_ring

#: Projected-gradient rounds (accelerated): enough to settle a strong blur.
ROUNDS = 60
#: The 4 edge neighbours and the 4 corner neighbours of a module.
EDGES = np.float32([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
CORNERS = np.float32([[1, 0, 1], [0, 0, 0], [1, 0, 1]])


def detail(gray: np.ndarray, module: float) -> np.ndarray:
    """Darkness above the neighbourhood's mean, in grey levels (linear: no division by the
    local contrast, so that a flat glare patch stays flat)."""
    img = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), max(0.5, 0.25 * module))
    win = int(8 * module) | 1
    return cv2.boxFilter(img, -1, (win, win), borderType=cv2.BORDER_REFLECT) - img


@functools.lru_cache(maxsize=16)
def _known(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known, sign, fit) on the grid with its quiet-zone ring: modules known in advance,
    +1 dark / -1 light for them, and those whose 8 neighbours are known too (the fit's)."""
    known, sign, _ = with_quiet_ring(n)
    ring = np.pad(known, 1, constant_values=False)
    fit = np.ones_like(known)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            fit &= ring[1 + dy:n + 3 + dy, 1 + dx:n + 3 + dx]
    return known, sign, fit


def _around(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_CONSTANT)


def equalised(samples: np.ndarray) -> np.ndarray:
    """Each module's value with its neighbours' spill removed (n x n, dark > 0), from the
    samples of the module centres and their quiet-zone ring ((n + 2) x (n + 2)).

    The values minimise the squared difference between the samples and the learned mix of
    the modules, each held within -1..1 (a module is dark or light, nothing darker): by
    accelerated projected gradient, which converges however strong the blur, where plain
    decision feedback oscillates once the neighbours outweigh a module itself.  Zeros when
    the known modules do not fit a blur (no contrast: nothing to read)."""
    n = samples.shape[0] - 2
    known, sign, fit = _known(n)
    x = np.where(known, sign, 0.0).astype(np.float32)
    features = np.stack([x[fit], _around(x, EDGES)[fit], _around(x, CORNERS)[fit],
                         np.ones(int(fit.sum()), np.float32)], 1)
    coef, *_ = np.linalg.lstsq(features, samples[fit], rcond=None)
    own, edge, corner, level = (float(c) for c in coef)
    if own <= 1e-3:
        return np.zeros((n, n), np.float32)
    mix = np.float32([[corner, edge, corner], [edge, own, edge], [corner, edge, corner]])
    step = 1.0 / float(np.abs(mix).sum()) ** 2  # 1 / the mix's largest gain, squared
    target = (samples - level).astype(np.float32)
    free = ~known
    x = np.where(known, sign, np.clip(target / own, -1, 1)).astype(np.float32)
    y, t = x.copy(), 1.0
    for _ in range(ROUNDS):
        residual = cv2.filter2D(y, -1, mix, borderType=cv2.BORDER_CONSTANT) - target
        moved = y - step * cv2.filter2D(residual, -1, mix, borderType=cv2.BORDER_CONSTANT)
        new = np.where(free, np.clip(moved, -1, 1), sign).astype(np.float32)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = new + ((t - 1) / t_next) * (new - x)
        x, t = new, t_next
    return x[1:-1, 1:-1].astype(np.float32)


def module_samples(detail_map: np.ndarray, grid) -> np.ndarray:
    """`detail_map` at the centres of the modules and of the quiet-zone ring around them,
    through `grid` (module coordinates -> pixels): (n + 2) x (n + 2)."""
    n = grid.n
    return sample(detail_map, grid(with_quiet_ring(n)[2])).reshape(n + 2, n + 2)
