"""Folded paper: the module grid of a code with one or two straight creases.

A folded pass is flat on either side of each crease, so in the camera its module grid is
one map per panel, and the maps meet along the crease.  The bent mesh (`scanner.warp`, a
control point every 4 modules, bilinear in between) can follow a gentle bend but not a
sharp turn between two control points, and it grows outwards from the finders' homography,
which a crease between two finders makes wrong everywhere: on the development frames it
misses, 8-26 % of the modules were sampled wrong.

Here the mesh is a witness.  Its displacements are explained by least squares as an
affine map plus a *hinge* per crease (`fit_creases`): zero on one side of a straight line
in module coordinates, growing linearly on the other, `max(0, distance) * turn`, every
direction and offset of the line tried at once.  The hinges turn sharply exactly at the
crease, where the mesh could only round it off.  A new mesh is then grown on that map,
which needs to correct far less, and is explained again: after `ROUNDS` such rounds the
same frames had 0-2.3 % of their modules wrong, and read.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterator

import numpy as np

from .located import find_codes
from .views import View
from .warp import MESH, Grid, control_points, finder_mesh, grid_view, mesh_side, refine

#: Crease directions tried (over half a turn) and the spacing of their offsets, modules.
ANGLES = np.radians(np.arange(0, 180, 6))
OFFSET_STEP = 1.0
#: Creases fitted, one after the other (folded in a pocket: once or twice).
MAX_CREASES = 2
#: A crease is kept when it explains at least this share of what the map so far leaves.
MIN_GAIN = 0.25
#: ... and moves the far side of the code at least this much (modules): less, and the
#: mesh's own grid (which `unwarp` has read) samples the same modules.
MIN_REACH = 0.5
#: Rounds of (explain the mesh, grow a new mesh on the creased map): on development folds
#: the modules sampled wrong went 8-26 % (the mesh) -> 6-16 % (one) -> 0-4.5 (two) -> 0-2.3.
ROUNDS = 3


class CreasedGrid(Grid):
    """Module coordinates -> pixels: a homography, an affine correction and a hinge per
    crease (`lines`: unit normal and offset in module coordinates; `turns`: the pixels per
    module each hinge adds beyond its line), plus the mesh grown on top (`Grid`)."""

    def __init__(self, hom: np.ndarray, n: int, affine: np.ndarray,
                 lines: list[np.ndarray], turns: list[np.ndarray]):
        super().__init__(hom, n)
        self.affine = affine.astype(np.float32)
        self.lines = [line.astype(np.float32) for line in lines]
        self.turns = [turn.astype(np.float32) for turn in turns]

    def base(self, uv: np.ndarray) -> np.ndarray:
        uv = np.asarray(uv, np.float32).reshape(-1, 2)
        out = super().base(uv) + np.c_[uv, np.ones(len(uv), np.float32)] @ self.affine
        for line, turn in zip(self.lines, self.turns):
            out = out + np.maximum(0.0, uv @ line[:2] - line[2])[:, None] * turn
        return out.astype(np.float32)


@functools.lru_cache(maxsize=16)
def candidate_lines(n: int) -> np.ndarray:
    """(L, 3) lines across a code of n modules, (normal x, normal y, offset), each twice
    (the hinge grows on the side the normal points to)."""
    out = []
    for a in ANGLES:
        nrm = np.array([np.cos(a), np.sin(a)])
        centre = n / 2.0 * (nrm[0] + nrm[1])
        reach = (abs(nrm[0]) + abs(nrm[1])) * n / 2.0
        for off in np.arange(-reach + 2, reach - 2 + 1e-6, OFFSET_STEP):
            out += [(nrm[0], nrm[1], centre + off), (-nrm[0], -nrm[1], -centre - off)]
    return np.array(out)


def _hinges_at(points: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each candidate line's hinge at `points` (P, L), the hinges' squared lengths, and
    which ones at least three points see beyond their line."""
    lines = candidate_lines(n)
    hinges = np.maximum(0.0, points @ lines[:, :2].T - lines[:, 2])
    return hinges, (hinges * hinges).sum(0), (hinges > 0).sum(0) >= 3


@functools.lru_cache(maxsize=16)
def _mesh_hinges(n: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The mesh's control points on a code of size n, and the hinges at them (laid out
    once per size: every round of every creased grid of that size uses them)."""
    points = control_points(mesh_side(n)).astype(np.float64)
    points = points[(points <= n + MESH / 2).all(1)]
    return points, _hinges_at(points, n)


def fit_creases(points: np.ndarray, shifts: np.ndarray, n: int, module: float
                ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """(affine (3, 2), lines, turns) explaining `shifts` (pixels) at `points` (module
    coordinates), the creases added one at a time while each explains at least MIN_GAIN
    of what is left and moves the code's far side by MIN_REACH of a `module` (px)."""
    return _fit(points, shifts, n, module, _hinges_at(points, n))


def _fit(points: np.ndarray, shifts: np.ndarray, n: int, module: float, at: tuple
         ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """`fit_creases` with the hinges at the points given (`_hinges_at`).  Every candidate
    line is scored at once: what a hinge removes from the residual is its projection on
    it, over its length once the part the map so far explains is taken out (the residual
    is already orthogonal to that part, so only the lengths need it)."""
    hinges, squares, usable = at
    usable = usable.copy()
    candidates = candidate_lines(n)
    design = np.c_[points, np.ones(len(points))]
    lines: list[np.ndarray] = []
    for _ in range(MAX_CREASES):
        q, _ = np.linalg.qr(design)
        left = shifts - q @ (q.T @ shifts)
        along = hinges.T @ left  # (L, 2)
        norm2 = squares - ((q.T @ hinges) ** 2).sum(0)
        gain = (along * along).sum(1) / np.maximum(norm2, 1e-9)
        gain[~usable | (norm2 < 1e-6)] = 0.0
        j = int(np.argmax(gain))
        turn = along[j] / max(norm2[j], 1e-9)  # pixels per module beyond the line
        if gain[j] < MIN_GAIN * float((left * left).sum()) or \
                np.linalg.norm(turn) * hinges[:, j].max() < MIN_REACH * module:
            break
        lines.append(candidates[j])
        design = np.c_[design, hinges[:, j]]
        usable[j] = False
    sol, *_ = np.linalg.lstsq(design, shifts, rcond=None)
    return sol[:3], lines, [sol[3 + i] for i in range(len(lines))]


def creased_grid(found, n: int, start: Grid | None = None) -> CreasedGrid | None:
    """The creased grid of size n for a crop's code (`located.find_codes`), explaining the
    finder-grown mesh or the one given (`start`); None when that mesh shows no crease (the
    step before has read its grid already), or a later round's mesh none left."""
    grid = finder_mesh(found, n) if start is None else start
    if grid is None:
        return None
    points, at = _mesh_hinges(n)
    flat = grid.base(points)  # the finders' homography alone
    for _ in range(ROUNDS):
        shifts = (grid(points) - flat).astype(np.float64)
        affine, lines, turns = _fit(points, shifts, n, found.module, at)
        if not lines:
            return None
        grid = CreasedGrid(grid.hom, n, affine, lines, turns)
        refine(grid, found.norm, found.module)
    return grid


def _creased_view(found, n: int) -> View | None:
    grid = creased_grid(found, n)
    return grid_view(found, grid) if grid is not None else None


def creased(view: View) -> Iterator[Callable[[], View | None]]:
    """The chain's preprocessor: one creased grid per code found and size it may have
    (`sizing.likely_sizes`, the likeliest first), as deferred thunks drawn as clean codes
    (`grid_view`)."""
    for found in find_codes(view):
        for n in found.sizes:
            yield functools.partial(_creased_view, found, n)
