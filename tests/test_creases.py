"""Folded paper read through a grid with straight creases (scanner/creases.py).

The frames come from the project's generator (scripts/make_gate_frames.py, development
seeds): folds that the bent mesh and every flat step miss.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner import creases, finders, seeded
from scanner.chain import DEFAULT_STEPS, DecoderChain
from scanner.finders import Finder, pick_triple, skewed_triples

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

#: Every step of the default chain but the creased grids.
WITHOUT_CREASES = [s for s in DEFAULT_STEPS if "creased" not in s.pipeline]


def mesh_points(n: int) -> np.ndarray:
    """Control points every 4 modules over a code of n modules, as the mesh has them."""
    ticks = np.arange(0, n + 1, 4, dtype=np.float64)
    return np.stack(np.meshgrid(ticks, ticks), -1).reshape(-1, 2)


def explained(pts: np.ndarray, affine, lines, turns) -> np.ndarray:
    """The displacement the fitted creases give at `pts`."""
    out = np.c_[pts, np.ones(len(pts))] @ affine
    for line, turn in zip(lines, turns):
        out = out + np.maximum(0.0, pts @ line[:2] - line[2])[:, None] * turn
    return out


def test_a_hinge_in_the_mesh_is_found_where_the_paper_turns():
    """A mesh (5 px modules) whose displacements are an affine drift plus one sharp turn
    along a line gives that line back (within a module and 6 degrees, the directions'
    spacing), and the creased map is within a quarter module of the true one at every
    module centre, where the affine map alone is more than half a module off."""
    n, rng, module = 33, np.random.default_rng(5), 5.0
    pts = mesh_points(n)
    nrm = np.array([np.cos(np.radians(70)), np.sin(np.radians(70))])
    turn = np.array([1.8, -0.9])

    def true(p):
        return 0.02 * p[:, ::-1] + 0.5 + np.maximum(0.0, p @ nrm - 19.0)[:, None] * turn
    affine, lines, turns = creases.fit_creases(pts, true(pts) + rng.normal(0, 0.1, pts.shape), n, module)
    assert lines
    line = lines[0] if lines[0][:2] @ nrm > 0 else -lines[0]
    assert np.degrees(np.arccos(min(1.0, line[:2] @ nrm))) <= 6
    centre = np.array([n / 2, n / 2])  # the same line: as far from the code's centre
    assert abs((line[2] - centre @ line[:2]) - (19.0 - centre @ nrm)) <= 1.0
    modules = np.stack(np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5), -1).reshape(-1, 2)
    error = np.linalg.norm(explained(modules, affine, lines, turns) - true(modules), axis=1)
    assert error.max() < 0.25 * module, error.max()
    # without the creases the affine map alone is pixels off beyond the fold
    plain = np.linalg.lstsq(np.c_[pts, np.ones(len(pts))], true(pts), rcond=None)[0]
    assert np.linalg.norm(explained(modules, plain, [], []) - true(modules), axis=1).max() > 0.5 * module


def test_a_mesh_without_a_crease_gives_none():
    """Displacements an affine map explains leave no crease to find: the creased step then
    offers no grid at all (the mesh's own was read by `unwarp`)."""
    n = 29
    pts = mesh_points(n)
    shifts = 0.05 * pts + np.random.default_rng(2).normal(0, 0.1, pts.shape)
    assert creases.fit_creases(pts, shifts, n, 5.0)[1] == []


@pytest.mark.parametrize("seed", [9, 18])
def test_a_fold_no_other_step_reads_is_read_through_its_creases(seed, monkeypatch):
    """Development folds (one or two creases across the code) that the whole chain without
    this step misses, the bent mesh and the alignment-seeded and joined grids included
    (the last step's creased grid, started from the joined one, is left out here)."""
    monkeypatch.setattr(seeded, "KINDS", ("seeded", "joined"))
    frame, text, _ = gen.render(np.random.default_rng(seed), "folded")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert DecoderChain(WITHOUT_CREASES, budget_ms=None).decode(gray).text != text
    result = DecoderChain(["regions,creased>zxing+qr-soft"], budget_ms=None).decode(gray)
    assert result.text == text
    # the corners come back through the creased grid into the frame, around the code
    h, w = gray.shape
    assert ((result.points >= 0) & (result.points <= [w, h])).all()
    assert cv2.contourArea(result.points.astype(np.float32)) > 50 * 50


@pytest.mark.parametrize("seed", [181, 183])
def test_a_creased_grid_zxing_cannot_read_is_read_by_the_soft_decoder(seed):
    """Development folds whose creased grid is right but for a few modules along a crease:
    zxing counts them as errors, the soft decoder erases them.  Its read is a correction,
    so the live gate keeps it only when the pass's signature verifies."""
    frame, text, _ = gen.render(np.random.default_rng(seed), "folded")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert DecoderChain(["regions,creased>zxing"], budget_ms=None).decode(gray).text != text
    step = "regions,creased>zxing+qr-soft"
    assert DecoderChain([step], budget_ms=None).decode(gray).text == text
    refused = DecoderChain([step], budget_ms=None, confirm=lambda t: False).decode(gray)
    assert refused.text is None


def _finder_at(x: float, y: float) -> Finder:
    return Finder(np.array([x, y], float), 4.0, np.zeros((4, 2), np.float32))


def test_finders_at_a_skewed_angle_are_offered_not_taken():
    """Finders 62 degrees apart (a fold seen at a slant): too far from a right angle to be
    taken at once, so `pick_triple` gives none, but offered to the known modules' check,
    the corner nearest a right angle first; three in a row are offered nowhere."""
    tl, tr = _finder_at(100, 100), _finder_at(300, 100)
    turn = np.radians(62)
    bl = _finder_at(100 + 200 * np.cos(turn), 100 + 200 * np.sin(turn))
    assert pick_triple([tl, tr, bl]) is None
    offered = skewed_triples([tl, tr, bl])
    assert offered and offered[0][0] is tl
    assert {id(f) for f in offered[0]} == {id(tl), id(tr), id(bl)}
    upright = _finder_at(100, 300)
    assert pick_triple([tl, tr, upright])[0] is tl
    in_a_row = [tl, _finder_at(200, 104), _finder_at(300, 100)]
    assert pick_triple(in_a_row) is None and skewed_triples(in_a_row) == []


@pytest.mark.parametrize("seed", [106, 136])
def test_a_fold_seen_at_a_slant_is_read_through_its_skewed_finders(seed, monkeypatch):
    """Development folds whose finders sit too far from a right angle for `pick_triple`:
    the whole chain reads them only through a skewed trio the known modules confirmed
    (seeds 100-199: 2 folds read that were not, none lost)."""
    frame, text, _ = gen.render(np.random.default_rng(seed), "folded")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert DecoderChain(budget_ms=None).decode(gray).text == text
    monkeypatch.setattr(finders, "SKEWED_ANGLE", finders.RIGHT_ANGLE)  # none offered
    assert DecoderChain(budget_ms=None).decode(gray).text != text


def test_the_creased_step_follows_the_mesh_it_starts_from_and_the_soft_decoder():
    """It reuses the mesh `unwarp` grew for the same crop and size, so it comes right after
    it; and after the soft decoder's step, which a sharp folded crop skips at no cost: placed
    before it, it took frames from glare on blur (development chain-still 62 -> 56 of 80;
    after it 61, and folds 69 -> 79)."""
    names = [s.name for s in DEFAULT_STEPS]
    creased = names.index("regions,creased>zxing+qr-soft")
    assert creased > names.index("regions,deblur-grid>qr-soft")
    assert creased == names.index("regions,unwarp>zxing+sure-soft") + 1


def test_the_soft_decoders_step_comes_before_the_bent_grids():
    """A frame resumes at the step the budget last cut, and that step keeps the bookmark
    until its views run out: after `unwarp`, the soft decoder's step never ran on a glare
    spot over a blurred code, because `unwarp` found sizes to try in every blurred crop.
    A sharp crop has no deblurring guesses, so a bent or folded card loses nothing with it
    first (development chain-still, glare-blur: 152 -> 156 of 170 on the quiet machine,
    146 -> 156 with two runs sharing its two cores; of the 947 other frames, bent, cloth,
    folded, the 12 other conditions, `frames` and `frames-real`, the same ones read)."""
    names = [s.name for s in DEFAULT_STEPS]
    unwarp = names.index("regions,unwarp>zxing+sure-soft")
    assert names.index("regions,deblur-grid>qr-soft") < unwarp
