"""A blurred code in a card-sized crop is deblurred in its own box (scanner/regions.code_box).

The frames come from the project's generator (scripts/make_gate_frames.py, development
seeds): their regions box holds the card around a small code (240-576 px), which
deblurred whole at `deblur.DEBLUR_SIDE` leaves modules under 2 px and no finder found.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner import regions
from scanner.chain import DEFAULT_STEPS, DecoderChain
from scanner.deblur import DEBLUR_SIDE, seen_blur
from scanner.regions import code_box, find_regions
from scanner.views import View

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

#: The chain without the code's own box, and without the grid fitted to the code's outline
#: (the sixteenth pass), which came after it and reads these too.
BEFORE_CODE_BOX = [s for s in DEFAULT_STEPS
                   if "code-box" not in s.pipeline and "outline" not in s.pipeline]
CODE_BOX = [s.name for s in DEFAULT_STEPS if "code-box" in s.pipeline]


def rendered(condition: str, seed: int) -> tuple[np.ndarray, str]:
    frame, text, _ = gen.render(np.random.default_rng(seed), condition)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), text


@pytest.mark.parametrize("condition, seed", [("motion", 106), ("blur", 114), ("combo", 17)])
def test_a_blurred_code_in_a_card_sized_crop_is_read_in_its_own_box(condition, seed):
    """Every other step misses these even without a budget; the code's own box reads them.
    Their crop is under `ZOOM_FROM` times the deblurring size, where the box was not cut
    before."""
    gray, text = rendered(condition, seed)
    sides = [max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in find_regions(gray)]
    assert max(sides) <= regions.ZOOM_FROM * DEBLUR_SIDE
    assert DecoderChain(BEFORE_CODE_BOX, budget_ms=None).decode(gray).text != text
    assert DecoderChain(CODE_BOX, budget_ms=None).decode(gray).text == text


def test_a_sharp_card_sized_crop_is_not_cut_again(monkeypatch):
    """A folded card's sharp crop (development seed 44, a 293 px box): its crease reads as a
    faint blur, and its grids need the frame's time more than a box deblurred for nothing;
    without the blur floor it would get one."""
    gray, _ = rendered("folded", 44)
    low, high = regions.SMALL_ZOOM_FROM * DEBLUR_SIDE, regions.ZOOM_FROM * DEBLUR_SIDE
    x0, y0, x1, y1 = next(box for box in find_regions(gray)
                          if low < max(box[2] - box[0], box[3] - box[1]) <= high)
    crop = View(gray).derive(gray[y0:y1, x0:x1], crop_xy=(x0, y0))
    seen = seen_blur(crop.image)
    assert not seen.shaken and seen.sigma < regions.CLEARLY_BLURRED
    assert code_box(crop) == []
    monkeypatch.setattr(regions, "CLEARLY_BLURRED", 0.0)
    assert code_box(crop) != []
