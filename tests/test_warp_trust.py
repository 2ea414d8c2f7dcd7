"""Which finders' corner and which grids the bent mesh trusts (scanner/located.py, decoders).

A code seen at a steep slant can make the wrong finder the most right-angled corner, and
the mesh grown from it samples nothing; a grid of the wrong size never reads, so the soft
decoder (~11 ms a grid) should not be spent on it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from scanner import decoders, located
from scanner.chain import DecoderChain
from scanner.deblur import seen_blur
from scanner.finders import find_finders, pick_triple
from scanner.qrgrid import anchor_agreement, known_modules
from scanner.regions import find_regions
from scanner.views import View

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

TEXT = "GP1:slanted-card"
BOX, QUIET = 8, 4


def slanted_code() -> tuple[np.ndarray, np.ndarray]:
    """(grey image, the true top-left finder's centre) of a version 3 code under an affine
    map that makes the finders' triangle 60 degrees at the top-left and 80 at the
    bottom-left: the angle `pick_triple` trusts names the wrong corner."""
    qr = qrcode.QRCode(version=3, box_size=1, border=QUIET,
                       error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(TEXT)
    qr.make(fit=False)
    modules = np.array(qr.get_matrix(), bool)
    img = cv2.resize(np.where(modules, 0, 255).astype(np.uint8), None, fx=BOX, fy=BOX,
                     interpolation=cv2.INTER_NEAREST)
    side, q = (modules.shape[0] - 2 * QUIET) * BOX, QUIET * BOX
    src = np.float32([[q, q], [q + side, q], [q, q + side]])
    w = 260.0
    dst = np.float32([[60, 60], [60 + w, 60], [60 + 0.326 * w, 60 + 0.565 * w]])
    affine = cv2.getAffineTransform(src, dst)
    out = cv2.warpAffine(img, affine, (420, 320), flags=cv2.INTER_AREA, borderValue=255)
    return out, affine @ np.array([q + 3.5 * BOX, q + 3.5 * BOX, 1.0])


def test_the_most_right_angled_corner_is_not_trusted_when_the_known_modules_disagree():
    """The picked trio's corner is the bottom-left finder, its known modules disagree, and
    the same finders read from the true corner (a skewed trio) come first: the bent mesh
    reads the code, which neither zxing nor the picked trio's grids read."""
    img, true_corner = slanted_code()
    block = max(located.SMALL_BLOCK, (max(img.shape) // 24) | 1)
    bw = cv2.adaptiveThreshold(img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                               block, 4)
    picked = pick_triple(find_finders(bw))
    assert np.linalg.norm(picked[0].centre - true_corner) > 50
    found = located.find_codes(View(img))
    assert np.linalg.norm(found[0].trio[0].centre - true_corner) < 3
    assert np.allclose(found[-1].trio[0].centre, picked[0].centre)  # still offered, last
    assert DecoderChain(["zxing"], budget_ms=None).decode(img).text is None
    assert DecoderChain(["regions,unwarp>zxing"], budget_ms=None).decode(img).text == TEXT


def test_anchor_agreement_is_high_for_a_true_grid_and_low_for_noise():
    mask, dark = known_modules(33)
    clean = np.where(dark, 1.0, -1.0).astype(np.float32)
    assert anchor_agreement(clean) == pytest.approx(1.0)
    noise = np.random.default_rng(5).uniform(-1, 1, (33, 33)).astype(np.float32)
    assert abs(anchor_agreement(noise)) < 0.2
    finders_only = np.where(mask, -clean, clean)  # finders right, every other anchor wrong
    finders_only[:9, :9], finders_only[:9, -8:], finders_only[-8:, :9] = (
        clean[:9, :9], clean[:9, -8:], clean[-8:, :9])
    assert anchor_agreement(finders_only) == pytest.approx(-1.0)  # the finders do not count


@pytest.mark.parametrize("condition, seed", [("folded", 15), ("bent", 13), ("cloth", 34)])
def test_a_bent_grid_zxing_cannot_read_is_read_by_the_soft_decoder_when_its_anchors_agree(
        condition, seed, monkeypatch):
    """Generated development cards whose bent mesh of the right size is right but for a few
    modules: zxing misses it, the soft decoder reads it; only grids whose anchors agree
    reach the soft decoder, and with none let through the step reads nothing."""
    frame, text, _ = gen.render(np.random.default_rng(seed), condition)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert DecoderChain(["regions,unwarp>zxing"], budget_ms=None).decode(gray).text != text
    step = "regions,unwarp>zxing+sure-soft"
    tried = []
    soft = decoders.qr_soft
    monkeypatch.setattr(decoders, "qr_soft", lambda view: tried.append(view) or soft(view))
    assert DecoderChain([step], budget_ms=None).decode(gray).text == text
    assert tried and all(v.anchors >= decoders.SURE_ANCHORS for v in tried)
    monkeypatch.setattr(decoders, "SURE_ANCHORS", 1.01)
    assert DecoderChain([step], budget_ms=None).decode(gray).text != text


def test_the_bent_grids_skip_a_clearly_blurred_crop(monkeypatch):
    """A glare spot on a blurred code (development seed 0): its blurred finders are found,
    so the bent grids would be grown there (50-120 ms) and read nothing; they decline it,
    and the blurred code's own box (the step after them) comes that much sooner."""
    frame, _, _ = gen.render(np.random.default_rng(0), "glare-blur")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x0, y0, x1, y1 = find_regions(gray)[0]
    crop = View(gray).derive(gray[y0:y1, x0:x1], crop_xy=(x0, y0))
    assert located.find_codes(crop)
    assert seen_blur(crop.image).sigma >= decoders.BENT_BLUR_LIMIT
    for name in ("unwarp", "creased", "unwarp-seeded"):
        assert list(decoders.PREPROCESSORS[name](crop)) == []
    monkeypatch.setattr(decoders, "BENT_BLUR_LIMIT", float("inf"))
    assert list(decoders.PREPROCESSORS["unwarp"](crop)) != []
