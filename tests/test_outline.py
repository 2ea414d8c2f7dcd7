"""scanner/outline.py: a code found by its outline where none of its finders is found.

A code shaken by three or four modules keeps its modules (deblurring brings them back) but
loses its finders' rings, and every grid that starts from the finders has nothing to start
from.  These tests check the outline itself on a drawn code, that a wide smear defeats the
finders but not the outline, and that the chain's outline steps read generated frames the
other steps miss even without a time budget.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from scanner.chain import DEFAULT_STEPS, DecoderChain
from scanner.located import find_codes
from scanner.outline import outline, outline_box, outlined_code
from scanner.views import View

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

TEXT = "GP1:outline-of-a-shaken-card"
MODULE = 6
#: The chain without the outline's two steps.
OTHER_STEPS = [s for s in DEFAULT_STEPS if "outline" not in s.name]


def drawn_code(turn_degrees: float = 8.0) -> tuple[np.ndarray, np.ndarray, int]:
    """(grey image, the code's four corners, its size in modules): a version 3 code of 6 px
    modules on a light card, turned a little, in a grey frame."""
    qr = qrcode.QRCode(version=3, border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(TEXT)
    qr.make(fit=False)
    m = np.array(qr.get_matrix(), bool)
    n = m.shape[0]
    code = cv2.resize(np.where(m, 30, 225).astype(np.uint8), None, fx=MODULE, fy=MODULE,
                      interpolation=cv2.INTER_NEAREST)
    img = np.full((400, 400), 120, np.uint8)
    img[60:340, 60:340] = 225  # the card
    side = n * MODULE
    x0 = (400 - side) // 2
    img[x0:x0 + side, x0:x0 + side] = code
    corners = np.float32([[x0, x0], [x0 + side, x0], [x0 + side, x0 + side], [x0, x0 + side]])
    turn = cv2.getRotationMatrix2D((200, 200), turn_degrees, 1.0)
    img = cv2.warpAffine(img, turn, (400, 400), flags=cv2.INTER_LINEAR, borderValue=120)
    return img, cv2.transform(corners[None], turn)[0], n


def corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    """The largest corner distance (px), whichever corner `found` starts from."""
    return min(float(np.abs(np.roll(found, k, 0) - truth).max()) for k in range(4))


def test_the_outline_of_a_drawn_code_is_within_a_module_of_its_corners():
    img, truth, _ = drawn_code()
    found = outline(img)
    assert found is not None
    assert corner_error(found, truth) < MODULE
    (ax, ay), (bx, by) = found[1] - found[0], found[2] - found[1]
    turn = ax * by - ay * bx
    assert turn > 0  # clockwise with y down, as the homographies expect


def test_the_likeliest_grid_names_the_top_left_corner_and_the_size():
    img, truth, n = drawn_code()
    found, size, hom = outlined_code(View(img))
    assert size == n
    corners = cv2.perspectiveTransform(np.float32([[[0, 0], [n, 0], [n, n], [0, n]]]), hom)[0]
    assert np.abs(corners - truth).max() < MODULE  # the top-left one first, not a turn of it
    assert found.module == pytest.approx(MODULE, rel=0.15)


def test_nothing_is_outlined_in_a_flat_or_noisy_crop():
    flat = np.full((300, 300), 128, np.uint8)
    assert outline(flat) is None
    assert outlined_code(View(flat)) is None
    assert outline_box(View(flat)) == []
    noise = np.random.default_rng(5).normal(128, 3, (300, 300)).clip(0, 255).astype(np.uint8)
    outlined = DecoderChain(["regions,deblur,outline>qr-soft"], budget_ms=None)
    assert outlined.decode(noise).text is None


def test_a_wide_smear_takes_the_finders_but_not_the_outline():
    """Shaken by four modules: the finders' rings are smeared shut, the outline is still
    there, stretched by no more than the smear's half on either side."""
    img, truth, _ = drawn_code()
    length = 4 * MODULE + 1
    smeared = cv2.filter2D(img, -1, np.full((1, length), 1.0 / length, np.float32),
                           borderType=cv2.BORDER_REFLECT)
    assert find_codes(View(smeared)) == []
    found = outline(smeared)
    assert found is not None
    assert corner_error(found, truth) < length / 2 + MODULE


@pytest.mark.parametrize("seed", [80, 86])
def test_shaken_frames_no_other_step_reads_are_read_through_their_outline(seed):
    """Generated motion frames (development seeds, never 7, 8 or 19) that every other step
    misses even without a time budget: the outline steps read them."""
    frame, text, _ = gen.render(np.random.default_rng(seed), "motion")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert DecoderChain(OTHER_STEPS, budget_ms=None).decode(gray).text != text
    outlined = [s for s in DEFAULT_STEPS if "outline" in s.name]
    assert [s.name for s in outlined] == ["regions,deblur,outline>qr-soft",
                                          "regions,outline-box,deblur,outline>qr-soft"]
    assert DecoderChain(outlined, budget_ms=None).decode(gray).text == text
