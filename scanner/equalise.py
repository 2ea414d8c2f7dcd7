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
from typing import Iterator

import cv2
import numpy as np

from .alignment import sample
from .qrgrid import with_quiet_ring

#: Projected-gradient rounds (accelerated): enough to settle a strong blur.
ROUNDS = 60
#: Refits of the mix from the modules already sure (`estimates`), how sure a module must
#: be to count, and how many such modules a refit needs.  Development seeds' glare-blur
#: frames, each deblurring guess's flat grid: 57 of 80 read with none, 61 with one refit,
#: 64 with two, 65 with three, 64 with four; a sureness of 0.5, 0.6, 0.8 or 0.9 read fewer
#: (with the 8-module background; with `BACKGROUND`'s, 1 refit 76 / 70, 3 or 5: 76 / 72).
REFITS, SURE, MIN_REFIT = 3, 0.7, 40
#: Width of the neighbourhood `detail` subtracts, in module widths.  The soft step alone on
#: each deblurring guess's flat grid (development glare-blur, seeds 23-53 / 61-73, 80 each):
#: 8 modules 67 / 61 read, 4: 62 / 61, 2: 74 / 72, 1.5: 76 / 72, 1: 75 / 71.
BACKGROUND = 1.5
#: How far (modules) from a glare spot's core its clipped modules are erased (`glare_modules`).
GLARE_REACH = 2
#: The 4 edge neighbours and the 4 corner neighbours of a module.
EDGES = np.float32([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
CORNERS = np.float32([[1, 0, 1], [0, 0, 0], [1, 0, 1]])


def detail(gray: np.ndarray, module: float) -> np.ndarray:
    """Darkness above the mean of the module-and-a-half around it, in grey levels (linear:
    no division by the local contrast, so that a flat glare patch stays flat).

    The neighbourhood is kept that small because a glare spot is a bright dome only a few
    modules wide: over a wider one, its curvature and the edge of its clipped core show up
    as confident light modules, where they should show as nothing (0, which the soft
    decoder erases).  Whatever the small window takes from the code itself is part of the
    mix `estimates` learns and undoes.  See `BACKGROUND`."""
    img = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), max(0.5, 0.25 * module))
    win = int(BACKGROUND * module) | 1
    return cv2.boxFilter(img, -1, (win, win), borderType=cv2.BORDER_REFLECT) - img


@functools.lru_cache(maxsize=16)
def _known(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known, sign, fit) on the grid with its quiet-zone ring: modules known in advance,
    +1 dark / -1 light for them, and those whose 8 neighbours are known too (the fit's)."""
    known, sign, _ = with_quiet_ring(n)
    return known, sign, with_neighbours(known)


def _around(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_CONSTANT)


def equalised(samples: np.ndarray) -> np.ndarray:
    """Each module's value with its neighbours' spill removed (n x n, dark > 0), from the
    samples of the module centres and their quiet-zone ring ((n + 2) x (n + 2)): the first
    of `estimates`."""
    return next(estimates(samples))


def estimates(samples: np.ndarray) -> Iterator[np.ndarray]:
    """The module values (n x n, dark > 0), then the same re-estimated up to `REFITS`
    times, each with the mix learned again from every module already sure.

    The values minimise the squared difference between the samples and the learned mix of
    the modules, each held within -1..1 (a module is dark or light, nothing darker): by
    accelerated projected gradient, which converges however strong the blur, where plain
    decision feedback oscillates once the neighbours outweigh a module itself.  The first
    mix is learned from the known modules alone, a fifth of the code and most of it finder
    (a biased sample of a blur); a refit learns it from every module whose value is beyond
    `SURE` and whose neighbours' are too, taken at their sign.  Zeros when the known
    modules do not fit a blur (no contrast: nothing to read)."""
    n = samples.shape[0] - 2
    known, sign, fit = _known(n)
    x = np.where(known, sign, 0.0).astype(np.float32)
    mix = _learn_mix(x, samples, fit)
    if mix is None:
        yield np.zeros((n, n), np.float32)
        return
    x = _solve(samples, known, sign, *mix, start=None)
    yield x[1:-1, 1:-1]
    for _ in range(REFITS):
        sure = with_neighbours(known | (np.abs(x) > SURE))
        if sure.sum() < MIN_REFIT:
            return
        mix = _learn_mix(np.where(known, sign, np.sign(x)).astype(np.float32), samples, sure)
        if mix is None:
            return
        x = _solve(samples, known, sign, *mix, start=x)
        yield x[1:-1, 1:-1]


def with_neighbours(mask: np.ndarray) -> np.ndarray:
    """Where a module and its 8 neighbours all are in `mask` (outside it counts as not):
    the modules sure enough to learn a mix from, a glare spot's core."""
    h, w = mask.shape
    ring = np.pad(mask, 1, constant_values=False)
    out = np.ones_like(mask)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out &= ring[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
    return out


def _learn_mix(x: np.ndarray, samples: np.ndarray,
               where: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(3 x 3 mix, level) that best turn the values `x` into the samples at `where`, by
    least squares; None when a module does not weigh on its own sample (no contrast)."""
    features = np.stack([x[where], _around(x, EDGES)[where], _around(x, CORNERS)[where],
                         np.ones(int(where.sum()), np.float32)], 1)
    coef, *_ = np.linalg.lstsq(features, samples[where], rcond=None)
    own, edge, corner, level = (float(c) for c in coef)
    if own <= 1e-3:
        return None
    return np.float32([[corner, edge, corner], [edge, own, edge], [corner, edge, corner]]), level


def _solve(samples: np.ndarray, known: np.ndarray, sign: np.ndarray, mix: np.ndarray,
           level: float, start: np.ndarray | None) -> np.ndarray:
    """The values within -1..1 (the known ones fixed) that best explain the samples through
    `mix`, from `start` or from each sample over the mix's own weight."""
    step = 1.0 / float(np.abs(mix).sum()) ** 2  # 1 / the mix's largest gain, squared
    target = (samples - level).astype(np.float32)
    free = ~known
    if start is None:
        start = np.clip(target / mix[1, 1], -1, 1)
    x = np.where(known, sign, start).astype(np.float32)
    y, t = x.copy(), 1.0
    for _ in range(ROUNDS):
        residual = cv2.filter2D(y, -1, mix, borderType=cv2.BORDER_CONSTANT) - target
        moved = y - step * cv2.filter2D(residual, -1, mix, borderType=cv2.BORDER_CONSTANT)
        new = np.where(free, np.clip(moved, -1, 1), sign).astype(np.float32)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = new + ((t - 1) / t_next) * (new - x)
        x, t = new, t_next
    return x


def grid_estimates(detail_map: np.ndarray, grid, clipped: np.ndarray | None = None,
                   factor: float = 1.0) -> Iterator[np.ndarray]:
    """`estimates` of the modules `grid` places on `detail_map`, each erased (0) where its
    centre was clipped in a glare spot (`glare_modules`; `clipped` is in pixels `factor`
    times coarser than `detail_map`'s).

    A module clipped in the camera carries little, but a deblurred crop's ripples make
    some of them look sure, and a sure wrong module costs the decoder twice what an erased
    one does (development glare-blur, each deblurring guess's flat grid: 148 of 160 read
    without, 150 with every clipped module erased; erasing only those whose 8 neighbours
    are clipped too, or 6 or 4 of them: 148, since the wrong sure ones lie on the clipped
    patch's rim)."""
    values = estimates(module_samples(detail_map, grid))
    if clipped is None:
        yield from values
        return
    n = grid.n
    centres = grid(with_quiet_ring(n)[2]).reshape(n + 2, n + 2, 2)[1:-1, 1:-1] / factor
    erased = glare_modules(sample(clipped.astype(np.float32), centres).reshape(n, n) >= 0.5)
    for x in values:
        yield np.where(erased, np.float32(0), x)


def glare_modules(clipped: np.ndarray) -> np.ndarray:
    """Of the modules clipped at their centre (n x n), those of a glare spot: within
    `GLARE_REACH` modules of one clipped with all 8 neighbours (the spot's core).

    A photo exposed brightly clips light modules all over a code, never a dark one, so a
    core forms only where 3 x 3 light modules meet, and the light modules elsewhere keep
    their (right) values: erasing every clipped module spent the error correction that
    read 2 of the 24 cloth photos of `frames-real` (qrcode-4_30, _33) in `chain-still`."""
    core = with_neighbours(clipped).astype(np.uint8)
    reach = 2 * GLARE_REACH + 3
    return clipped & (cv2.dilate(core, np.ones((reach, reach), np.uint8)) > 0)


def module_samples(detail_map: np.ndarray, grid) -> np.ndarray:
    """`detail_map` at the centres of the modules and of the quiet-zone ring around them,
    through `grid` (module coordinates -> pixels): (n + 2) x (n + 2)."""
    n = grid.n
    return sample(detail_map, grid(with_quiet_ring(n)[2])).reshape(n + 2, n + 2)
