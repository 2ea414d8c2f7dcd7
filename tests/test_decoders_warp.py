"""Codes that are not flat (bent, folded, cloth) and several codes in one frame.

The frames come from the project's own generator (scripts/make_gate_frames.py with
scripts/gate_surfaces.py), rendered in the test from fixed seeds, so they are the same on
every machine.  Seed 19 is the held-out set: the warp's settings were never tuned on it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from scanner.chain import DEFAULT_STEPS, DecoderChain
from scanner.decoders import DECODERS
from scanner.qrgrid import alignment_centres
from scanner.views import View
from scanner import alignment, located, warp
from scanner import seeded as seeded_grids
from scanner.darkness import normalised, normalised_around
from scanner.sizing import fit_homography
from scanner.finders import Finder, find_finders, pick_triple
from scanner.qrgrid import known_modules
from scanner.views import WarpedView
from scanner.warp import unwarp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

HELD_OUT_SEED = 19
#: The chain without the steps that fit a grid of their own (the warp, and the flat grids
#: of the soft decoder's steps, which read some folds and cloth too).
WITHOUT_WARP = [s for s in DEFAULT_STEPS if not any(
    p.startswith("unwarp") or p in ("deblur-grid", "denoise-grid", "creased", "outline")
    for p in s.pipeline)]
#: Both kinds of bent grid, without the rest of the chain.
WARP_ONLY = ["regions,unwarp>zxing", "regions,unwarp-seeded>zxing"]


def rendered(condition: str, seed: int):
    """(grey frame, text) of one generated frame."""
    frame, text, _ = gen.render(np.random.default_rng(seed), condition)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), text


# --------------------------------------------------------------------------- non-flat codes

@pytest.mark.parametrize("condition, seed", [("folded", 4), ("folded", 5), ("cloth", 10)])
def test_unwarp_reads_cards_no_flat_sampling_reads(condition, seed):
    """zxing alone and every other step of the chain miss these; the bent grid reads them."""
    frame, text = rendered(condition, seed)
    flat = DecoderChain(WITHOUT_WARP, budget_ms=None).decode(frame)
    assert flat.text != text
    result = DecoderChain(["regions,unwarp>zxing"], budget_ms=None).decode(frame)
    assert result.text == text
    # the corners come back through the warp into the frame, around the code
    h, w = frame.shape
    assert result.points.shape == (4, 2)
    assert ((result.points >= 0) & (result.points <= [w, h])).all()
    assert cv2.contourArea(result.points.astype(np.float32)) > 50 * 50


@pytest.mark.parametrize("seed", [1, 14])
def test_a_grid_seeded_at_the_alignment_pattern_reads_a_fold_the_finders_alone_miss(
        seed, monkeypatch):
    """Beyond a crease the grid grown from the finders slips a module; the alignment
    pattern, found where it really is, starts the mesh on the far side too."""
    frame, text = rendered("folded", seed)
    assert DecoderChain(["regions,unwarp>zxing"], budget_ms=None).decode(frame).text != text
    seeded = DecoderChain(["regions,unwarp-seeded>zxing"], budget_ms=None)
    result = seeded.decode(frame)
    assert result.text == text
    h, w = frame.shape
    assert ((result.points >= 0) & (result.points <= [w, h])).all()
    monkeypatch.setattr(seeded_grids, "seeds", lambda *args: [])
    assert seeded.decode(frame).text is None  # no seed, no grid: nothing tried twice


def test_a_fold_only_the_joined_grid_reads(monkeypatch):
    """Development seed 94: the finder-grown mesh slips beyond the crease and the seeded one
    between the alignment pattern and a finder.  Joined where each looks right, the grid
    reads, and no other step of the chain does."""
    frame, text = rendered("folded", 94)
    without = [s for s in DEFAULT_STEPS if "unwarp-seeded" not in s.pipeline]
    assert DecoderChain(without, budget_ms=None).decode(frame).text != text
    step = ["regions,unwarp-seeded>zxing"]
    monkeypatch.setattr(seeded_grids, "KINDS", ("seeded",))
    assert DecoderChain(step, budget_ms=None).decode(frame).text != text
    monkeypatch.setattr(seeded_grids, "KINDS", ("seeded", "joined"))
    result = DecoderChain(step, budget_ms=None).decode(frame)
    assert result.text == text
    h, w = frame.shape
    assert ((result.points >= 0) & (result.points <= [w, h])).all()


def test_a_joined_grid_takes_each_control_point_from_the_mesh_that_fits_there():
    """Two meshes over a sharp code, each a module off in one half: the joined grid takes
    the right half of each and samples every module right."""
    qr = qrcode.QRCode(version=4, border=4, box_size=6)
    qr.add_data("GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0")
    qr.make(fit=False)
    img = np.array(qr.make_image().convert("L"), np.uint8)
    norm = normalised(img, 6.0)
    hom = np.float64([[6, 0, 24], [0, 6, 24], [0, 0, 1]])
    left, right = warp.Grid(hom, 33), warp.Grid(hom, 33)
    cols = warp.control_points(left.k)[:, 0].reshape(left.k, left.k)
    left.shift[cols > 16, 0] = 6.0  # right half a module off
    right.shift[cols < 16, 0] = -6.0  # left half a module off
    dark = np.array(qr.get_matrix(), bool)[4:-4, 4:-4]

    def wrong(grid):
        return int(((warp.soft_modules(grid, norm) > 0) != dark).sum())
    assert wrong(left) > 100 and wrong(right) > 100
    joined = seeded_grids.joined_grid(left, right, norm, 6.0)
    assert wrong(joined) == 0


def test_seeds_find_the_alignment_pattern_where_the_finders_do_not_put_it():
    """A version-4 code whose homography is 1.5 modules off at the far corner: the seed is
    the alignment pattern's true place; a pattern that is not there gives no seed."""
    qr = qrcode.QRCode(version=4, border=4, box_size=6)
    qr.add_data("GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0")
    qr.make(fit=False)
    img = np.array(qr.make_image().convert("L"), np.uint8)
    norm = normalised(img, 6.0)
    off = np.float64([[1, 0, 1.5 * 6], [0, 1, -1.0 * 6], [0, 0, 1]])
    true = np.float64([[6, 0, 24], [0, 6, 24], [0, 0, 1]])
    (centre, shift), = alignment.seeds(norm, off @ true, 33, 6.0)
    assert tuple(centre) == (26.5, 26.5)
    assert np.allclose(shift, [-9.0, 6.0], atol=1.0)
    blank = normalised(np.full_like(img, 200), 6.0)
    assert alignment.seeds(blank, true, 33, 6.0) == []


@pytest.mark.serial  # timing: run alone (make test)
@pytest.mark.parametrize("seed, step, frames", [(4, "regions,unwarp>zxing+sure-soft", 30),
                                                (3, "regions,unwarp>zxing+sure-soft", 30),
                                                (14, "regions,creased>zxing+qr-soft", 30)])
def test_the_live_chain_reaches_the_warp_within_a_second_of_frames(seed, step, frames):
    """Held up for 30 frames (1 s at 30 fps), a folded card is read by the default chain,
    each frame within its budget but for the one step resumed from the previous frame
    (seed 14 was read by the seeded grids, the last step, before the creased grids came:
    31 frames at load average 7 on the shared 2-core machine; 9 quiet with them)."""
    frame, text = rendered("folded", seed)
    chain = DecoderChain(carry_over=True).warm_up()
    for n in range(frames):
        result = chain.decode(frame)
        if result.ok:
            break
    assert result.text == text and result.step_name == step, n


def test_warm_up_lays_out_every_size_the_warp_guesses():
    """A card of a size seen for the first time would pay for its layout inside a frame,
    and the chain would learn that as the warp's cost."""
    warp._layout.cache_clear()
    DecoderChain(WITHOUT_WARP).warm_up()
    assert warp._layout.cache_info().currsize == 0  # no warp, nothing laid out
    DecoderChain().warm_up()
    assert warp._layout.cache_info().currsize == 10

def test_unwarp_declines_without_three_finder_patterns():
    rng = np.random.default_rng(3)
    noise = (rng.random((300, 300)) * 255).astype(np.uint8)
    assert list(unwarp(View(noise))) == []
    assert list(unwarp(View(np.full((200, 200), 128, np.uint8)))) == []


@pytest.mark.parametrize("seed", [231, 323])
def test_finders_a_wide_threshold_block_misses_are_looked_for_with_a_small_one(
        seed, monkeypatch):
    """Development combos (shaken or blurred, in a crop around the whole card): on the
    deblurred crops the finders are found only through the smallest threshold block, and
    without that second look the soft decoder gets no grid to read."""
    frame, text = rendered("combo", seed)
    step = ["regions,deblur-grid>qr-soft"]
    assert DecoderChain(step, budget_ms=None).decode(frame).text == text
    monkeypatch.setattr(located, "BLOCKS", (None,))  # the crop's own block only
    assert DecoderChain(step, budget_ms=None).decode(frame).text is None


def test_unwarp_draws_a_clean_code_of_the_right_size():
    """On a flat printed code the synthetic code is the code itself, module for module."""
    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data("GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0")
    qr.make(fit=True)
    m = np.array(qr.get_matrix(), bool)
    img = cv2.resize(np.where(m, 20, 235).astype(np.uint8), None, fx=6, fy=6,
                     interpolation=cv2.INTER_NEAREST)
    img = cv2.copyMakeBorder(img, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=235)
    views = [t() for t in unwarp(View(img))]
    n = m.shape[0]
    same = [v for v in views if v.image.shape[0] == (n + 8) * 4]
    assert same and isinstance(same[0], WarpedView)
    bits = same[0].image[16::4, 16::4][:n, :n] < 128
    assert (bits == m).mean() > 0.99
    assert DECODERS["zxing"](same[0].image)[0].text == "GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0"



@pytest.mark.parametrize("hidden", ["top-right", "bottom-left", "top-left"])
def test_a_code_with_one_finder_washed_out_is_read_through_a_stood_in_finder(hidden):
    """A glare spot or a crease on one finder: the other two say where it must be, the
    code's other known modules say which of the six places it is, and the drawn code has
    all three again."""
    text = "GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0"
    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    m = np.array(qr.get_matrix(), bool)
    n = m.shape[0]
    img = np.where(m, 20, 235).astype(np.uint8)
    row, col = {"top-right": (0, n - 7), "bottom-left": (n - 7, 0), "top-left": (0, 0)}[hidden]
    img[row:row + 7, col:col + 7] = 250  # clipped white over the finder
    img = cv2.resize(img, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
    img = cv2.copyMakeBorder(img, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=235)
    assert DECODERS["zxing"](img) == []  # what every library makes of it
    located._recent.clear()
    found = located.find_codes(View(img))
    assert found and len(found) <= located.COMPLETED_TRIED
    views = [t() for t in unwarp(View(img))]
    assert any(r.text == text for v in views if v is not None for r in DECODERS["zxing"](v.image))


def test_the_code_is_normalised_as_in_the_whole_crop_and_nothing_far_from_it():
    """`unwarp` normalises only around the code (the rest of a crop cost more than the grid
    fit): around it the values are those of the whole crop, far from it 0 (undecided)."""
    qr = qrcode.QRCode(border=4, box_size=6)
    qr.add_data("GPS.k3x9.1a2b.3.abcdefghijklmnopqrstuvwxyz0")
    qr.make(fit=True)
    card = np.array(qr.make_image().convert("L"), np.uint8)
    rng = np.random.default_rng(7)
    crop = (rng.random((card.shape[0] + 80, card.shape[1] + 500)) * 255).astype(np.uint8)
    crop[40:40 + card.shape[0], 40:40 + card.shape[1]] = card
    block = max(11, (max(crop.shape) // 24) | 1)
    bw = cv2.adaptiveThreshold(crop, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                               block, 4)
    trio = pick_triple(find_finders(bw))
    assert trio is not None
    module = float(np.mean([f.module for f in trio]))
    near = normalised_around(crop, trio, module)
    whole = normalised(crop, module)
    tl, tr, bl = (f.centre for f in trio)
    x0, y0 = np.floor(np.minimum.reduce([tl, tr, bl, tr + bl - tl]) - 4 * module).astype(int)
    x1, y1 = np.ceil(np.maximum.reduce([tl, tr, bl, tr + bl - tl]) + 4 * module).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    assert np.allclose(near[y0:y1, x0:x1], whole[y0:y1, x0:x1], atol=1e-5)
    assert (near[:, -150:] == 0).all()  # the noise beyond the code is never touched
    assert np.abs(whole[:, -150:]).mean() > 0.3


def test_finders_whose_corners_match_nothing_still_give_a_grid():
    """Blurred or clipped finders may have no corner where the centres put one: the grid
    falls back to the centres' affine map instead of failing the hypothesis."""
    far = np.float32([[900, 900], [901, 900], [901, 901], [900, 901]])
    trio = tuple(Finder(np.array(c, float), 5.0, far) for c in ((50, 50), (150, 50), (50, 150)))
    hom = fit_homography(trio, 25)
    centres = np.float32([[[3.5, 3.5], [21.5, 3.5], [3.5, 21.5]]])
    assert np.allclose(cv2.perspectiveTransform(centres, hom)[0],
                       [[50, 50], [150, 50], [50, 150]], atol=1e-3)

def test_known_modules_match_a_real_code():
    for text in ("short", "GPD.k3x9.1a2b.3.1ab2c3.abcdefghijklmnopqrstuvwxyz0"):
        qr = qrcode.QRCode(border=0)
        qr.add_data(text)
        qr.make(fit=True)
        m = np.array(qr.get_matrix(), bool)
        mask, dark = known_modules(m.shape[0])
        assert (m[mask] == dark[mask]).all()


@pytest.mark.parametrize("version", range(1, 11))
def test_known_modules_of_every_version_the_warp_guesses(version):
    """Every alignment pattern, the dark module and (versions 7-10) the version
    information are anchors: a wrong one would pull the grid off the code."""
    qr = qrcode.QRCode(version=version, border=0, error_correction=qrcode.constants.ERROR_CORRECT_Q)
    qr.add_data("x")
    qr.make(fit=False)
    m = np.array(qr.get_matrix(), bool)
    mask, dark = known_modules(m.shape[0])
    assert (m[mask] == dark[mask]).all()
    assert mask.sum() > 3 * 64 + 2 * (m.shape[0] - 16) + 25 * len(alignment_centres(m.shape[0]))
    if version >= 7:
        assert mask[0:6, -11:-8].all() and mask[-11:-8, 0:6].all()


@pytest.mark.slow
@pytest.mark.serial  # timing: run alone (make test)
def test_held_out_non_flat_frames_lose_nothing():
    """Seed 19, never tuned on: held up as `decode` holds a file (10 frames of budget, 3x
    relaxed so a busy test machine cannot fail it), the chain with the warp reads every
    bent, folded and cloth frame the chain without it reads.  (What it gains on the full
    held-out set is measured by `python -m scanner bench`, docs/benchmark-decoders.md.)"""
    budget = 75.0
    chain = DecoderChain(budget_ms=budget).warm_up()
    flat = DecoderChain(WITHOUT_WARP, budget_ms=budget).warm_up()
    rng = np.random.default_rng(HELD_OUT_SEED)
    lost = []
    for condition in ("bent", "folded", "cloth"):
        for i in range(3):
            frame, text, _ = gen.render(rng, condition)
            if flat.decode_still(frame).text == text and chain.decode_still(frame).text != text:
                lost.append(f"{condition} {i}")
    assert not lost


#: Frames of the held-out seed the two warp steps read alone, without a budget, of 20 per
#: condition (`make_gate_frames.py --per-condition 20 --seed 19`): measured 20 / 18 / 19 on
#: 2 Dec 2026 (20 / 16 / 17 before the anchors and the seeded grids); a frame of slack.
HELD_OUT_FLOORS = {"bent": 19, "folded": 17, "cloth": 18}
#: Glare-blur frames of the same set the deblurring step alone reads without a budget, of
#: 20: measured 9 on 2 Dec 2026 (9 before the glare guess too); a frame of slack.
HELD_OUT_DEBLUR_FLOOR = 8
#: ... and with the soft decoder's step after it (scanner/qrsoft.py): measured 13, then 14
#: with the codeword reliability of `qrsoft.codewords`, on 2 Dec 2026, each time after a
#: change made on development seeds; two frames of slack.
HELD_OUT_SOFT_FLOOR = 12


@pytest.mark.slow
def test_the_warp_alone_reads_the_held_out_non_flat_frames():
    """Seed 19, rendered exactly as `make_gate_frames.py --seed 19 --conditions
    bent,folded,cloth,glare-blur` writes it, read by the two warp steps alone (the seeded
    grids after the finder-grown ones) without a budget: no clock, the same on every
    machine.  Glare on blur is not the warp's job: the set's last 20 frames, rendered after
    the others, go to the deblurring step alone, then with the soft decoder's step."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    warp_only = DecoderChain(WARP_ONLY, budget_ms=None)
    read = {}
    for condition in ("bent", "folded", "cloth"):
        frames = [gen.render(rng, condition)[:2] for _ in range(20)]
        read[condition] = sum(warp_only.decode(frame).text == text for frame, text in frames)
    assert all(read[c] >= floor for c, floor in HELD_OUT_FLOORS.items()), read
    deblur_only = DecoderChain(["regions,deblur>zxing"], budget_ms=None)
    frames = [gen.render(rng, "glare-blur")[:2] for _ in range(20)]
    glare_blur = sum(deblur_only.decode(frame).text == text for frame, text in frames)
    assert glare_blur >= HELD_OUT_DEBLUR_FLOOR, glare_blur
    soft = DecoderChain(["regions,deblur>zxing", "regions,deblur-grid>qr-soft"], budget_ms=None)
    texts = [(soft.decode(frame).text, text) for frame, text in frames]
    assert not [got for got, text in texts if got and got != text]  # never a wrong pass
    assert sum(got == text for got, text in texts) >= HELD_OUT_SOFT_FLOOR, texts


# --------------------------------------------------------------------------- a family

def family_frame(texts: list[str]) -> np.ndarray:
    """Cards side by side, each slightly turned, in one 1280x720 frame."""
    frame = np.full((720, 1280), 120, np.uint8)
    for i, text in enumerate(texts):
        qr = qrcode.QRCode(border=4, box_size=7)
        qr.add_data(text)
        qr.make(fit=True)
        card = np.array(qr.make_image().convert("L"), np.uint8)
        rot = cv2.getRotationMatrix2D((card.shape[1] / 2, card.shape[0] / 2), 8 * (i - 1), 1.0)
        card = cv2.warpAffine(card, rot, card.shape[::-1], borderValue=120)
        x, y = 60 + i * 410, 150 + 40 * (i % 2)
        frame[y:y + card.shape[0], x:x + card.shape[1]] = card
    return frame


def test_a_family_frame_gives_every_pass():
    texts = ["GPS.k3x9.1a.1.parent-pass-signature-aaaaaaa",
             "GPS.k3x9.1b.1.child-pass-signature-bbbbbbbb",
             "GPS.k3x9.1c.1.granny-pass-signature-cccccc"]
    result = DecoderChain().decode(family_frame(texts))
    assert sorted(t for t, _ in result.codes) == sorted(texts)
    assert result.text == result.codes[0][0] and len(result.others) == 2
    centres = sorted(float(p[:, 0].mean()) for _, p in result.codes)
    assert centres[0] < 470 < centres[1] < 880 < centres[2]  # each outline on its own card


def test_others_hold_only_accepted_codes():
    texts = ["GPS.k3x9.1a.1.parent-pass-signature-aaaaaaa", "https://example.com/poster",
             "GPS.k3x9.1c.1.granny-pass-signature-cccccc"]
    result = DecoderChain(accept=lambda t: t.startswith("GPS.")).decode(family_frame(texts))
    assert sorted(t for t, _ in result.codes) == sorted([texts[0], texts[2]])
    assert "https://example.com/poster" in result.rejected


def test_one_pass_has_no_others():
    result = DecoderChain().decode(family_frame(["GPS.k3x9.1a.1.alone-aaaaaaaaaaaaaaaaaaaaa"]))
    assert result.ok and result.others == () and len(result.codes) == 1
