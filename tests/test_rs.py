"""scanner/rs.py, our Reed-Solomon errors-and-erasures decoder, against `reedsolo`.

`reedsolo` (a test dependency only) encodes the blocks and decodes them too; within the
code's capacity (erasures + 2 x errors <= check symbols) ours must always give the data
back, and beyond it either refuse or agree with the reference.
"""
from __future__ import annotations

import numpy as np
import pytest
from reedsolo import RSCodec, ReedSolomonError

from scanner import rs


def damaged(rng, nsym: int, k: int, erased: int, errors: int):
    codec = RSCodec(nsym)  # QR's field: 0x11d, generator 2, first root alpha^0
    data = bytes(rng.integers(0, 256, k, dtype=np.uint8))
    block = bytearray(codec.encode(data))
    where = rng.permutation(len(block))[:erased + errors]
    for p in where:
        block[p] ^= int(rng.integers(1, 256))
    return codec, data, bytes(block), sorted(int(p) for p in where[:erased])


@pytest.mark.parametrize("seed", range(4))
def test_everything_within_capacity_is_corrected(seed):
    rng = np.random.default_rng(seed)
    for _ in range(300):
        nsym = int(rng.integers(2, 31))
        erased = int(rng.integers(0, nsym + 1))
        errors = int(rng.integers(0, (nsym - erased) // 2 + 1))
        _, data, block, erase = damaged(rng, nsym, int(rng.integers(1, 140)), erased, errors)
        got, errata = rs.decode(block, nsym, erase)
        assert got == data
        assert set(erase) <= set(errata) and len(errata) <= erased + errors


def test_beyond_capacity_it_refuses_or_agrees_with_the_reference():
    rng = np.random.default_rng(9)
    refused = 0
    for _ in range(600):
        nsym = int(rng.integers(4, 31))
        erased = int(rng.integers(0, nsym))
        errors = (nsym - erased) // 2 + int(rng.integers(1, 4))
        codec, data, block, erase = damaged(rng, nsym, int(rng.integers(10, 120)), erased, errors)
        try:
            got = rs.decode(block, nsym, erase)[0]
        except rs.DecodeError:
            refused += 1
            continue
        try:
            reference = bytes(codec.decode(bytearray(block), erase_pos=erase or None)[0])
        except ReedSolomonError:
            reference = None
        assert got == reference
    assert refused > 500  # a miscorrection is rare, and the soft decoder bounds its chance


def test_clean_blocks_and_bad_input():
    codec = RSCodec(10)
    block = bytes(codec.encode(b"gate pass"))
    assert rs.decode(block, 10) == (b"gate pass", [])
    assert not rs.syndromes(np.frombuffer(block, np.uint8), 10).any()
    with pytest.raises(rs.DecodeError):
        rs.decode(block, 10, list(range(11)))  # more erasures than check symbols
