"""What every QR code of a given size has, whatever it encodes: the warp's anchors.

Data modules look alike whichever module a sample lands on, so a grid fitted to "clear
modules" alone can slip by a whole module far from the finders.  The modules fixed by the
standard (ISO/IEC 18004) are the anchors that cannot slip: finder patterns and their
separators, timing rows, every alignment pattern of the version, the dark module, and for
versions 7 and up the two version-information blocks, whose 18 bits follow from the size.
"""
from __future__ import annotations

import functools

import numpy as np

#: Versions the warp guesses (from the finders' spacing); alignment centres per version.
MAX_VERSION = 10
ALIGNMENT_CENTRES = {
    1: (), 2: (6, 18), 3: (6, 22), 4: (6, 26), 5: (6, 30), 6: (6, 34),
    7: (6, 22, 38), 8: (6, 24, 42), 9: (6, 26, 46), 10: (6, 28, 50),
}
#: Generator polynomial of the version information's BCH(18, 6) code.
VERSION_POLY = 0x1F25


def version_of(n: int) -> int:
    """The version of a code n modules wide."""
    return (n - 17) // 4


def alignment_centres(n: int) -> list[tuple[int, int]]:
    """(row, col) of the alignment patterns of a code of size n, none over a finder."""
    axis = ALIGNMENT_CENTRES.get(version_of(n), ())
    last = axis[-1] if axis else None
    return [(r, c) for r in axis for c in axis
            if not ((r, c) == (6, 6) or (r, c) == (6, last) or (r, c) == (last, 6))]


def version_bits(version: int) -> int:
    """The 18-bit version information word: 6 bits of version, 12 of BCH remainder."""
    rem = version << 12
    for bit in range(17, 11, -1):
        if rem >> bit & 1:
            rem ^= VERSION_POLY << (bit - 12)
    return version << 12 | rem


@functools.lru_cache(maxsize=32)
def known_modules(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask, dark) of the modules every code of size n has (read-only arrays)."""
    mask, dark = np.zeros((n, n), bool), np.zeros((n, n), bool)
    ring = np.ones((7, 7), bool)
    ring[1:6, 1:6] = False
    ring[2:5, 2:5] = True
    for y, x in ((0, 0), (0, n - 7), (n - 7, 0)):
        mask[max(0, y - 1):y + 8, max(0, x - 1):x + 8] = True  # with the separator
        dark[y:y + 7, x:x + 7] = ring
    mask[6, 8:n - 8] = mask[8:n - 8, 6] = True
    dark[6, 8:n - 8:2] = dark[8:n - 8:2, 6] = True
    for r, c in alignment_centres(n):
        mask[r - 2:r + 3, c - 2:c + 3] = True
        dark[r - 2:r + 3, c - 2:c + 3] = True
        dark[r - 1:r + 2, c - 1:c + 2] = False
        dark[r, c] = True
    mask[n - 8, 8] = dark[n - 8, 8] = True  # the dark module beside the bottom-left finder
    version = version_of(n)
    if version >= 7:
        word = version_bits(version)
        for i in range(18):
            a, b = i // 3, n - 11 + i % 3
            bit = bool(word >> i & 1)
            mask[a, b] = mask[b, a] = True
            dark[a, b] = dark[b, a] = bit
    mask.setflags(write=False)
    dark.setflags(write=False)
    return mask, dark


def anchor_agreement(vals: np.ndarray) -> float:
    """How well a sampled grid's timing rows, alignment patterns and version blocks agree
    with what its size says they are (`vals`: n x n, dark > 0; mean of -1..1 per module).

    The finders are left out: every grid is fitted to them, so they agree at any size.  On
    development folds the grids of the right size agreed 0.69-0.96, those of a wrong size
    (one version off) at most 0.76, most under 0.6."""
    n = vals.shape[0]
    mask, dark = known_modules(n)
    inner = mask.copy()
    inner[:9, :9] = inner[:9, n - 8:] = inner[n - 8:, :9] = False
    if not inner.any():
        return 0.0
    return float(np.mean(np.where(dark, vals, -vals)[inner]))


@functools.lru_cache(maxsize=32)
def with_quiet_ring(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known, sign, centres) over the code and the ring of quiet zone around it, (n + 2)
    modules a side: the ring is known and light (where the code ends); sign is +1 dark, -1
    light; centres are the modules' centres in module coordinates, row by row
    ((n + 2)^2, 2).  What every fit that judges modules beside the code's edge starts from."""
    mask, dark = known_modules(n)
    known = np.pad(mask, 1, constant_values=True)
    sign = np.where(np.pad(dark, 1), 1.0, -1.0).astype(np.float32)
    jj, ii = np.mgrid[-1:n + 1, -1:n + 1]
    centres = np.stack([ii.ravel() + 0.5, jj.ravel() + 0.5], -1).astype(np.float32)
    for a in (known, sign, centres):
        a.setflags(write=False)
    return known, sign, centres
