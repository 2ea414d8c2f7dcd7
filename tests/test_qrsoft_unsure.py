"""Unsure reads (scanner/qrsoft.py `soft_reads`): a code at its redundancy's very edge is no
read, but its few candidate texts go to the gate's signature check, and only a text whose
signature verifies is shown."""
from __future__ import annotations

import string
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner.chain import DecoderChain
from scanner.qrsoft import data_positions, decode_soft, soft_reads
from test_qrsoft import matrix, soft_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_gate_frames as gen  # noqa: E402 - the generator is a script, not a package

DEBLUR_THEN_SOFT = ["regions,deblur>zxing", "regions,deblur-grid>qr-soft"]


def at_the_edge(text: str, rng) -> np.ndarray:
    """Version 1-L (one block, 7 error-correction codewords): 5 codewords washed out
    (values near 0, erased) and one more with a module turned, less sure than the rest:
    5 erasures + 2 x 1 error = 7, decodable with nothing left to check it."""
    m = matrix(text, "L", version=1)
    soft = soft_of(m, rng, noise=0.05)
    rows, cols = data_positions(m.shape[0])
    washed = rng.choice(26, 5, replace=False)
    for k in washed:
        sl = slice(8 * k, 8 * k + 8)
        soft[rows[sl], cols[sl]] = rng.normal(0, 0.02, 8)
    turned = next(k for k in range(26) if k not in washed)
    r, c = rows[8 * turned + 3], cols[8 * turned + 3]
    soft[r, c] = -0.3 if soft[r, c] > 0 else 0.3
    return soft


def test_a_code_at_its_redundancys_edge_is_no_read_but_its_text_is_a_candidate():
    rng = np.random.default_rng(4)
    offered = 0
    for _ in range(10):
        text = "".join(rng.choice(list(string.ascii_uppercase + string.digits), 14))
        soft = at_the_edge(text, rng)
        assert decode_soft(soft) is None  # past MAX_RISK: no read
        sure, unsure = soft_reads(soft)
        assert sure is None and all(r.unsure for r in unsure)
        offered += text in [r.text for r in unsure]
    assert offered >= 9, offered


def test_a_clean_code_is_a_sure_read_with_no_candidates():
    rng = np.random.default_rng(2)
    sure, unsure = soft_reads(soft_of(matrix("GPS.k1.3x.1.abcdefghijklmnopqrst", "M"), rng))
    assert sure.text == "GPS.k1.3x.1.abcdefghijklmnopqrst" and not sure.unsure and unsure == []


def test_noise_is_neither_a_read_nor_a_candidate():
    """A candidate must still parse to the standard's padding: noise never does (300 of 300
    grids when measured), so the gate is not asked to check garbage."""
    rng = np.random.default_rng(3)
    for i in range(100):
        n = 17 + 4 * (1 + i % 10)
        assert soft_reads(rng.normal(0, 1, (n, n)).astype(np.float32)) == (None, [])


def glare_blur_frame(seed: int, index: int):
    """(grey frame, text): frame `index` of `make_gate_frames.py --seed S --conditions
    glare-blur`, decoded from its JPEG as the file is."""
    rng = np.random.default_rng(seed)
    for _ in range(index + 1):
        _, text, jpeg = gen.render(rng, "glare-blur")
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE), text


@pytest.mark.slow
def test_the_gate_reads_a_pass_only_its_signature_vouches_for():
    """A development frame (seed 73, glare on blur, a level-M code of 4 blocks) whose first
    block decodes only at its redundancy's edge: no read without a signature check, the
    pass with one that verifies it, and nothing with one that does not."""
    frame, text = glare_blur_frame(73, 1)
    assert DecoderChain(DEBLUR_THEN_SOFT, budget_ms=None).decode(frame).text is None
    vouched = DecoderChain(DEBLUR_THEN_SOFT, budget_ms=None, verify=lambda t: t == text)
    assert vouched.decode(frame).text == text
    refused = DecoderChain(DEBLUR_THEN_SOFT, budget_ms=None, verify=lambda t: False)
    assert refused.decode(frame).text is None
