"""Folded paper beyond a crease: grids grown from the alignment patterns, and joined.

`warp.unwarp` grows its mesh outwards from the finders.  A crease between them turns the
panel beyond it as a whole, and the mesh slips there onto the neighbouring module, which
looks just as much like a module.  `alignment.seeds` finds the alignment patterns where
they really are, and a mesh grown from them as well (the *seeded* grid) is often right
beyond the crease.  But each mesh is right in some parts only: the seeded one can slip in
the band between an alignment pattern and a finder that the finder-grown one has right.

So, per size, this step tries three grids, each drawn as a clean code (`warp.grid_view`):

1. the seeded grid;
2. the *joined* grid: each control point from whichever of the two meshes samples the
   modules around it more like modules (`warp.point_scores`), the seams then polished
   (`refine(keep=True)`);
3. the joined grid explained as panels and creases (`creases.creased_grid` started from it).

On the development folds that the chain missed (seeds 103 and 105), the joined grid took
`fresh-105/folded_004` from 180 (finder-grown) and 63 (seeded) modules wrong to none, and
its creased grid read `fresh-105/folded_013` and `_015`, which no grid read before; see
docs/benchmark-decoders.md, "Twelfth pass".
"""
from __future__ import annotations

import functools
from typing import Callable, Iterator

import numpy as np

from .alignment import seeds
from .creases import creased_grid
from .located import FoundCode, find_codes
from .views import View
from .warp import Grid, finder_mesh, grid_view, point_scores, refine

#: The grids tried per size, in this order (each needs the one before).
KINDS = ("seeded", "joined", "creased")


class _Grids:
    """The grids of one code and size, each fitted once, when first asked for."""

    def __init__(self, found: FoundCode, n: int):
        self.found, self.n = found, n

    @functools.cached_property
    def seeded(self) -> Grid | None:
        """Grown from the finders and the alignment patterns found away from them; None
        when none is found (it would be the finder-grown grid again)."""
        found, n = self.found, self.n
        hom = found.homography(n)
        anchors = seeds(found.norm, hom, n, found.module) if hom is not None else []
        if not anchors:
            return None
        grid = Grid(hom, n)
        refine(grid, found.norm, found.module, anchors)
        return grid

    @functools.cached_property
    def joined(self) -> Grid | None:
        """The finder-grown and seeded meshes joined where each looks right."""
        if self.seeded is None:
            return None
        grown = finder_mesh(self.found, self.n)
        if grown is None:
            return None
        return joined_grid(grown, self.seeded, self.found.norm, self.found.module)

    @functools.cached_property
    def creased(self) -> Grid | None:
        """The joined grid's creases (`creases.creased_grid`)."""
        joined = self.joined
        return None if joined is None else creased_grid(self.found, self.n, start=joined)


def joined_grid(grown: Grid, seeded: Grid, norm: np.ndarray, module: float) -> Grid:
    """A grid whose every control point is the finder-grown or the seeded mesh's, the one
    whose modules around it look more like modules; then polished where they meet.  Both
    meshes sit on the same homography (`FoundCode.homography`), so their shifts can be mixed."""
    pick = point_scores(seeded, norm) > point_scores(grown, norm)
    grid = Grid(grown.hom, grown.n)
    grid.shift[:] = np.where(pick.reshape(grid.k, grid.k, 1), seeded.shift, grown.shift)
    refine(grid, norm, module, keep=True)
    return grid


def _view(grids: _Grids, kind: str) -> View | None:
    grid = getattr(grids, kind)
    return grid_view(grids.found, grid) if grid is not None else None


def unwarp_seeded(view: View) -> Iterator[Callable[[], View | None]]:
    """The chain's preprocessor: per code found and likely size (versions 2 and up: version
    1 has no alignment pattern), the seeded, joined and creased grids as deferred thunks.

    A step of its own, last in the chain: these grids cost more than `unwarp`'s (5-25 ms
    each, a creased one 15-50 ms), and placed beside it they would
    take frame time from the cheap steps after it.
    """
    for found in find_codes(view):
        for n in found.sizes:
            if n > 21:
                grids = _Grids(found, n)
                for kind in KINDS:
                    yield functools.partial(_view, grids, kind)
