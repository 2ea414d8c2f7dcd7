"""Reading codes that are not flat: sample the module grid through a bent warp.

zxing, zbar and OpenCV all sample a QR code through one homography (its four corners,
perhaps an alignment pattern): right for a flat pass, wrong for a card bent in a cold hand,
paper folded in a pocket or a code printed on cloth.  There the grid drifts off the modules
a few modules away from the finders, and the checksum fails although every module is sharp.

`unwarp` fits a warp that can bend: a homography from the three finder patterns, plus a
mesh of displacements (one control point every `MESH` modules, bilinear in between) grown
outwards from the finders.  Each control point is moved to where the module centres near
it look most like modules (a sample in the middle of a module is clearly dark or light, one
on a module edge is grey) and where the known patterns (finders, timing rows, alignment
pattern) match.  The sampled grid is drawn as a clean synthetic code with a quiet zone,
which any decoder reads; its corners map back through the warp to the camera frame.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from .alignment import sample
from .equalise import grid_estimates, module_samples
from .located import FoundCode, find_codes
from .qrgrid import MAX_VERSION, anchor_agreement, known_modules, with_quiet_ring
from .views import View, WarpedView

#: Mesh spacing in modules: finer follows wrinkles, coarser resists noise.  4 read more than
#: 3 (or 2, 5, 6) on the development seed 11: bent 20 (19), cloth 18 (16), folded 15 (12) of 20.
MESH = 4
#: Pixels per module of the synthetic code, and its quiet zone in modules.
BOX, QUIET = 4, 4
#: Candidate shifts of a control point, in module widths along each axis (then a finer
#: search of +-FINE around the best).
SHIFTS = np.linspace(-0.45, 0.45, 5).astype(np.float32)
FINE = 0.12
#: A control point judges the module centres with at least this weight on it.
SUPPORT = 0.2
#: Polishing rounds of a grid seeded at alignment patterns (one for a finder-grown grid):
#: growing from several places leaves seams a few rounds close (folded, seeds 11, 23, 31:
#: 67 of 80 read with one round, 68 with two, 70 with three and more).
SEEDED_POLISH = 3
#: ... and of a grid joined from two meshes (`refine(keep=True)`): its seams.
JOINED_POLISH = 2
#: How far a control point's first guess carries its neighbours' trend on (0: their mean).
TREND = 0.5

def mesh_side(n: int) -> int:
    """Control points along one side of the mesh over a code of n modules."""
    return int(np.ceil(n / MESH)) + 1


def control_points(k: int) -> np.ndarray:
    """(k*k, 2) where a k x k mesh's control points sit, in module coordinates, row-major."""
    return np.stack(np.divmod(np.arange(k * k), k)[::-1], -1).astype(np.float32) * MESH


def prepare() -> None:
    """Lay out every size the warp guesses (versions 1-10) ahead of the first card: laying
    out one costs 3-20 ms, which a card would otherwise pay inside a frame's budget, and
    the chain would learn as the warp's cost."""
    for version in range(1, MAX_VERSION + 1):
        n = 17 + 4 * version
        _layout(n, mesh_side(n))

class Grid:
    """Module coordinates -> image pixels: a homography plus a bilinear displacement mesh."""

    def __init__(self, hom: np.ndarray, n: int):
        self.hom, self.n = hom, n
        self.k = mesh_side(n)
        self.shift = np.zeros((self.k, self.k, 2), np.float32)

    def base(self, uv: np.ndarray) -> np.ndarray:
        """The map the mesh's displacements are added to (here the homography)."""
        return cv2.perspectiveTransform(np.asarray(uv, np.float32).reshape(1, -1, 2), self.hom)[0]

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        uv = np.asarray(uv, np.float32).reshape(-1, 2)
        ctrl, w = _bilinear(uv, self.k)
        return self.base(uv) + (self.shift.reshape(-1, 2)[ctrl] * w[..., None]).sum(1)


def _bilinear(uv: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ctrl, w), each (len(uv), 4): the 4 mesh control points around each point (module
    coordinates) and their bilinear weights."""
    g = np.clip(uv / MESH, 0, k - 1.001)
    i0 = np.minimum(np.floor(g).astype(int), k - 2)
    f = g - i0
    ctrl, w = [], []
    for dx, dy in itertools.product((0, 1), repeat=2):
        ctrl.append((i0[:, 1] + dy) * k + i0[:, 0] + dx)
        w.append((f[:, 0] if dx else 1 - f[:, 0]) * (f[:, 1] if dy else 1 - f[:, 1]))
    return np.stack(ctrl, 1), np.stack(w, 1).astype(np.float32)


def _neighbours(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(k*k, 8) indices of each control point's 8 neighbours and of the next point beyond
    each, k*k (a dummy) where the mesh ends."""
    cy, cx = np.divmod(np.arange(k * k), k)
    one, two = [], []
    for dy, dx in itertools.product((-1, 0, 1), repeat=2):
        if dy or dx:
            for out, f in ((one, 1), (two, 2)):
                y, x = cy + f * dy, cx + f * dx
                inside = (y >= 0) & (y < k) & (x >= 0) & (x < k)
                out.append(np.where(inside, y * k + x, k * k))
    return np.stack(one, 1), np.stack(two, 1)


def _predict(shift: np.ndarray, done: np.ndarray, cells: np.ndarray, lay: "_Layout",
             trend: float) -> np.ndarray:
    """First guesses for `cells`: their fitted neighbours' shifts carried on along their
    trend by `trend` (a crease or a bend keeps turning the grid the same way).

    `shift` and `done` have one row more than the mesh, a dummy for "no neighbour" (zero,
    never done), so that they need no copying per ring."""
    n1, n2 = lay.near1[cells], lay.near2[cells]
    d1 = done[n1]
    s1 = shift[n1]
    if trend:
        s1 = s1 + trend * (s1 - shift[n2]) * (d1 * done[n2])[..., None]
    count = d1.sum(1)
    guess = (s1 * d1[..., None]).sum(1)
    return np.where(count[:, None] > 0, guess / np.maximum(count, 1)[:, None], shift[cells])


@dataclass(frozen=True)
class _Layout:
    """What the mesh fit needs about a code of size n, computed once per size."""

    uv: np.ndarray  # (n*n, 2) module centres
    ctrl: np.ndarray  # (n*n, 4) the control points around each module centre
    w4: np.ndarray  # (n*n, 4) and their bilinear weights
    idx: np.ndarray  # (k*k, L) the module centres each control point moves (padded)
    wc: np.ndarray  # (k*k, L) their weights (0 in the padding)
    free: np.ndarray  # (k*k, L) data modules: judged by contrast
    known_sign: np.ndarray  # (k*k, L) +1 dark / -1 light for known modules, 0 otherwise
    ring: np.ndarray  # (k*k,) distance from the nearest finder, in mesh steps
    cell_ctrl: np.ndarray  # (k*k, L, 4) ctrl of each control point's modules
    cell_w4: np.ndarray  # (k*k, L, 4) and their weights
    near1: np.ndarray  # (k*k, 8) neighbouring control points (k*k: none)
    near2: np.ndarray  # (k*k, 8) the points beyond them


@functools.lru_cache(maxsize=16)
def _layout(n: int, k: int) -> _Layout:
    """Over the code and a ring of quiet zone around it (known light: where the code ends)."""
    known, sign, uv = with_quiet_ring(n)
    known, sign = known.ravel(), sign.ravel()
    ctrl, w4 = _bilinear(uv, k)
    m = len(uv)
    weights = np.zeros((m, k * k), np.float32)
    np.add.at(weights, (np.arange(m)[:, None], ctrl), w4)
    weights[weights < SUPPORT] = 0  # a control point judges the modules nearest to it
    support = 4 * MESH * MESH
    idx = np.zeros((k * k, support), int)
    valid = np.zeros((k * k, support), bool)
    for c, column in enumerate(weights.T > 0):
        near = np.flatnonzero(column)[:support]
        idx[c, :len(near)], valid[c, :len(near)] = near, True
    used = int(valid.sum(1).max())  # the padding beyond is never used: trim it
    idx, valid = idx[:, :used], valid[:, :used]
    wc = weights[idx, np.arange(k * k)[:, None]] * valid
    anchors = np.float32([[3.5, 3.5], [n - 3.5, 3.5], [3.5, n - 3.5]])
    pts = control_points(k)
    ring = (np.linalg.norm(pts[:, None] - anchors[None], axis=2).min(1) / MESH).astype(int)
    ring[~valid.any(1)] = -1
    return _Layout(uv, ctrl, w4, idx, wc, ~known[idx] & valid,
                   sign[idx] * (known[idx] & valid), ring, ctrl[idx], w4[idx], *_neighbours(k))


def _offsets(steps: np.ndarray, module: float) -> np.ndarray:
    """Every (dx, dy) pair of `steps` (module widths), in pixels."""
    return np.stack(np.meshgrid(steps, steps), -1).reshape(-1, 2) * np.float32(module)


def _seed(shift: np.ndarray, lay: _Layout, grid: Grid,
          found: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Start the control points around each alignment pattern found away from the finders
    at its shift (see `alignment.seeds`); the order the mesh grows in: rings outwards from
    the finders and from those seeds."""
    ring = lay.ring.copy()
    if not found:
        return ring
    pts = control_points(grid.k)
    for centre, moved in found:
        cells, w = _bilinear(centre[None], grid.k)
        cells = cells[0][w[0] > 0]
        shift[cells] = moved
        near = (np.linalg.norm(pts - centre, axis=1) / MESH).astype(int)
        ring = np.where(ring >= 0, np.minimum(ring, near), ring)
        ring[cells] = np.where(ring[cells] >= 0, 0, ring[cells])
    return ring


def refine(grid: Grid, norm: np.ndarray, module: float,
           found: list[tuple[np.ndarray, np.ndarray]] = (), keep: bool = False) -> None:
    """Grow the displacement mesh from the finders outwards, a ring of control points at a
    time (vectorised: Python loops per control point would cost the frame budget).

    Each control point tries a few shifts (coarse, then fine) of the module centres it
    moves and keeps the one where they look most like modules.  What a ring needs that
    does not change while the mesh moves (its modules' weights times every trial shift) is
    computed once and used by every round.  With `keep`, the grid's mesh is not grown
    again but polished where it is (`JOINED_POLISH` rounds: `seeded.joined_grid`).
    """
    k = grid.k
    lay = _layout(grid.n, k)
    flat = grid.base(lay.uv)
    shift = np.zeros((k * k + 1, 2), np.float32)  # the last row: the dummy neighbour
    done = np.zeros(k * k + 1, np.float32)
    trials = (_offsets(SHIFTS, module),
              _offsets(np.linspace(-FINE, FINE, 3, dtype=np.float32), module))
    flat_c = flat[lay.idx]  # (k*k, L, 2)
    if keep:
        shift[:-1], done[:-1], ring = grid.shift.reshape(-1, 2), lay.ring >= 0, lay.ring
        rounds = (True,) * JOINED_POLISH
    else:
        ring = _seed(shift, lay, grid, found)
        rounds = (False,) + (True,) * (SEEDED_POLISH if found else 1)
    rings = []
    for r in np.unique(ring[ring >= 0]):
        cells = np.flatnonzero(ring == r)
        w = lay.wc[cells]
        moves = [w[:, None, :, None] * offsets[None, :, None, :] for offsets in trials]
        # a data module scores its contrast, a known one twice its agreement in colour
        rings.append((cells, w, moves, lay.free[cells][..., None].astype(np.float32),
                      2.0 * lay.known_sign[cells][..., None],
                      lay.cell_ctrl[cells], lay.cell_w4[cells][..., None]))
    for polish in rounds:
        # the second round starts each point from all its neighbours: a patch that
        # slipped a module while growing is pulled back by the grid around it
        for cells, w, moves, free, ks, cctrl, cw4 in rings:
            shift[cells] = _predict(shift, done, cells, lay, 0.0 if polish else TREND)
            base = flat_c[cells] + (shift[cctrl] * cw4).sum(-2)
            for offsets, move in zip(trials, moves):
                vals = sample(norm, base[:, None] + move).reshape(len(cells), len(offsets), -1)
                score = (np.abs(vals) @ free + vals @ ks)[..., 0]  # (B, trials)
                best = offsets[score.argmax(1)]  # (B, 2)
                shift[cells] += best
                base = base + w[..., None] * best[:, None, :]
            done[cells] = 1.0
    grid.shift[:] = shift[:-1].reshape(k, k, 2)


def point_scores(grid: Grid, norm: np.ndarray) -> np.ndarray:
    """(k*k,) how much the module centres each control point moves look like modules
    (`refine`'s measure, weighted by how much the point moves each): which of two meshes
    is right around that point."""
    lay = _layout(grid.n, grid.k)
    vals = sample(norm, grid(lay.uv))[lay.idx] * lay.wc
    return (np.abs(vals) * lay.free).sum(1) + 2.0 * (vals * lay.known_sign).sum(1)


def soft_modules(grid: Grid, norm: np.ndarray) -> np.ndarray:
    """Every module's darkness sampled at its centre: -1 light .. +1 dark, 0 undecided."""
    return module_samples(norm, grid)[1:-1, 1:-1]


def render(vals: np.ndarray) -> np.ndarray:
    """The sampled grid as a clean code: BOX px per module, QUIET modules of quiet zone."""
    n = vals.shape[0]
    mask, dark = known_modules(n)
    bits = np.where(mask, dark, vals > 0)
    img = np.where(bits, 0, 255).astype(np.uint8)
    img = cv2.resize(img, None, fx=BOX, fy=BOX, interpolation=cv2.INTER_NEAREST)
    pad = QUIET * BOX
    return cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def _estimates(grid: Grid, found: FoundCode) -> Iterator[np.ndarray]:
    """The grid's module values with the blur undone, then refined, a glare spot's erased."""
    return grid_estimates(found.detail_map, grid, found.view.clipped, found.factor)


def grid_view(found: FoundCode, grid: Grid) -> WarpedView:
    """The clean code a fitted grid samples, mapping back through it to the frame, with
    its module values for the soft decoder (computed only if that decoder asks)."""
    def mapper(pts: np.ndarray) -> np.ndarray:
        return grid(pts / BOX - QUIET) / found.factor
    vals = soft_modules(grid, found.norm)
    return WarpedView(render(vals), source=found.view, mapper=mapper,
                      soft=functools.partial(_estimates, grid, found),
                      anchors=anchor_agreement(vals))


def finder_mesh(found: FoundCode, n: int) -> Grid | None:
    """The grid of size n grown from the finders, once per crop (`unwarp`, `creases`)."""
    if n not in found.meshes:
        hom = found.homography(n)
        found.meshes[n] = grid = None if hom is None else Grid(hom, n)
        if grid is not None:
            refine(grid, found.norm, found.module)
    return found.meshes[n]


def _finder_view(found: FoundCode, n: int) -> View | None:
    """A thunk's work: the finder-grown grid of size n drawn as a clean code."""
    grid = finder_mesh(found, n)
    return grid_view(found, grid) if grid is not None else None


def unwarp(view: View) -> Iterator[Callable[[], View | None]]:
    """Synthetic codes sampled through a bent grid grown from the finders, one per likely
    size (`sizing.likely_sizes`; see module doc).

    Declines unless three finder patterns (or two, `find_codes`) are found.  A generator of
    thunks: the costly mesh fit runs only for the hypotheses the chain has time to try.
    """
    for found in find_codes(view):
        for n in found.sizes:
            yield functools.partial(_finder_view, found, n)
