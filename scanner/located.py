"""Where a crop's code is: its three finder patterns at the working size, found once.

Every grid the scanner samples of a crop (the bent mesh of `scanner.warp`, the creased and
seeded grids, the flat fit) starts from the same trio of finders, so they are looked for
once per crop and kept for the last crops (`find_codes`).  The trio is usually the most
right-angled one (`finders.pick_triple`); a fold seen at a slant skews that angle, and a
crease or a glare spot can hide a finder, so then the trios the code's own known modules
confirm are tried instead (`_confirmed`).

`FoundCode` is what a grid starts from: the trio, the crop at the working size, its
darkness map (`norm`), and per size the finders' homography and grown mesh, each computed
once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from .darkness import normalised_around
from .equalise import detail
from .finders import Finder, completed_pairs, find_finders, pick_triple, skewed_triples
from .sizing import fit_homography, likely_sizes, scored_sizes
from .views import RecentCrops, View

#: Working size of the crop's long side: finders need ~4 px per module to be found.
WORK_SIDE = 640


@dataclass(frozen=True)
class FoundCode:
    """What every grid of one crop starts from: the working image, its finders, `norm`."""

    view: View
    factor: float  # working image / crop
    trio: tuple[Finder, Finder, Finder]
    module: float  # px at the working size
    norm: np.ndarray
    work: np.ndarray  # the crop at the working size

    @functools.cached_property
    def scored_sizes(self) -> list[tuple[float, int, int]]:
        """Every size near the finders' spacing, scored by its known modules, best first."""
        return scored_sizes(self.trio, self.norm)

    @functools.cached_property
    def sizes(self) -> list[int]:
        """The sizes to grow grids for, likeliest first (`likely_sizes`)."""
        return likely_sizes(self.scored_sizes)

    @functools.cached_property
    def homographies(self) -> dict[int, np.ndarray | None]:
        """The finders' homography of each size fitted so far (`homography`)."""
        return {}

    def homography(self, n: int) -> np.ndarray | None:
        """The finders' homography for size n (`sizing.fit_homography`), once per crop:
        every grid of that size starts from it, so their meshes can be mixed
        (`seeded.joined_grid`)."""
        if n not in self.homographies:
            self.homographies[n] = fit_homography(self.trio, n)
        return self.homographies[n]

    @functools.cached_property
    def meshes(self) -> dict[int, object]:
        """The finder-grown mesh (a `warp.Grid`, or None) of each size fitted so far
        (`warp.finder_mesh`)."""
        return {}

    @functools.cached_property
    def detail_map(self) -> np.ndarray:
        """What the soft decoder samples (`equalise.detail`), made once per crop."""
        return detail(self.work, self.module)


#: The last crops' codes ([FoundCode, ...] per crop image): later steps' grids
#: (seeded, creased, flat) neither look for the finders nor grow the meshes again.
_recent = RecentCrops()
#: A skewed trio or one with a stood-in finder is tried when the known modules agree this well
#: through it (mean of -1..1 per module), the two best: with one finder dropped, the right
#: trio scored 0.23-0.9 and was the best of six for 44 of 57 development frames.
COMPLETED_AGREEMENT, COMPLETED_TRIED = 0.25, 2


def _found(view: View, factor: float, work: np.ndarray, trio) -> FoundCode:
    module = float(np.mean([f.module for f in trio]))
    return FoundCode(view, factor, trio, module, normalised_around(work, trio, module), work)


def _agreement(found: FoundCode, any_size: bool = False) -> float:
    """`known_agreement` through the finders' homography of the size their spacing names or
    (`any_size`) the best: a steep slant shrinks the finders' modules, and the spacing errs."""
    return max((score for score, gap, _ in found.scored_sizes if any_size or gap == 0),
               default=-1.0)


def find_codes(view: View) -> list[FoundCode]:
    """The crop's code at the working size: its three finders, or when they are not found
    at about a right angle, the likeliest trios the known modules confirm: skewed ones (a
    fold seen at a slant, `finders.skewed_triples`), or two found and the third stood in
    (a crease or a glare spot on it, `finders.completed_pairs`); none when neither.

    The threshold's block is a few modules of a code that fills the crop.  A code that
    fills only part of it (a crop around a whole card, a far or shaken code) has modules a
    fraction of that, and a block as wide as a finder blurs its ring into its stone: where
    nothing is found, the finders are looked for once more with the smallest block."""
    known = _recent.get(view.image)
    if known is not None:
        return known
    img = view.image
    side = max(img.shape)
    factor = WORK_SIDE / side if side > WORK_SIDE else (2.0 if side < WORK_SIDE / 2 else 1.0)
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    work = img if factor == 1.0 else cv2.resize(img, None, fx=factor, fy=factor,
                                                 interpolation=interp)
    found, tried = [], set()
    for block in BLOCKS:
        block = block or max(SMALL_BLOCK, (max(work.shape) // 24) | 1)
        if block not in tried and not found:
            tried.add(block)
            found = _look(view, factor, work, block)
    _recent.keep(img, found)
    return found


#: The smallest threshold block (px at the working size).
SMALL_BLOCK = 11
#: The blocks the finders are looked for through, in turn, until a code is found: the
#: crop's own (None: a twenty-fourth of the working image), then the smallest.
BLOCKS = (None, SMALL_BLOCK)


def _look(view: View, factor: float, work: np.ndarray, block: int) -> list[FoundCode]:
    """`find_codes` through one adaptive threshold of `block` px."""
    bw = cv2.adaptiveThreshold(work, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                               block, 4)
    finders = find_finders(bw)
    trio = pick_triple(finders)
    if trio is not None:
        picked = _found(view, factor, work, trio)
        if _agreement(picked) >= COMPLETED_AGREEMENT:
            return [picked]
        return _confirmed(view, factor, work, skewed_triples(finders), above=picked)[:1] + [picked]
    return _confirmed(view, factor, work, skewed_triples(finders) + completed_pairs(finders))


def _confirmed(view: View, factor: float, work: np.ndarray, trios: list,
               above: FoundCode | None = None) -> list[FoundCode]:
    """The COMPLETED_TRIED best trios whose known modules agree at least
    COMPLETED_AGREEMENT, and better than `above` (a picked trio that disagrees: a steep
    slant can make the wrong corner the most right-angled one) at their best sizes."""
    any_size = above is not None
    floor = max(COMPLETED_AGREEMENT, _agreement(above, True) if any_size else -1.0)
    scored = sorted(((_agreement(f, any_size), i, f) for i, f in enumerate(
        _found(view, factor, work, t) for t in trios)), reverse=True)
    return [f for score, _, f in scored[:COMPLETED_TRIED] if score >= floor]
