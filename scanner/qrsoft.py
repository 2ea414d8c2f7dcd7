"""Decode a QR code from *soft* module values: errors and erasures, not errors alone.

Every decoder we can install (zxing, zbar, OpenCV) decides each module dark or light before
error correction, and then Reed-Solomon corrects up to (n - k) / 2 wrong codewords a block.
A glare spot or a blur leaves many modules grey: the sign of their sample is a coin toss,
but *where* they are is known.  Reed-Solomon corrects twice as many codewords when it is
told which ones are unreliable (erasures: s + 2e <= n - k), so this decoder keeps each
module's darkness (dark > 0, its size how sure: `scanner.equalise`) and decodes each
block by generalised minimum distance: errors only first, then with the least reliable
codewords erased, a few more each try.

A wrong decode must never reach the gate as a pass: each block's answer is kept only while
the chance that noise would decode that way stays below `MAX_RISK`, the bit stream must
parse to the end with the standard's padding, and the token's signature is checked after.
A code whose blocks decode only past that bound, at the very edge of their redundancy
where no check is left, is not read; its candidates are kept as *unsure* reads
(`soft_reads`), which the gate takes only when a pass's signature verifies with its own
keys: 120 bits of HMAC that no wrong text passes.

Numeric, alphanumeric and byte segments (and ECI) are read: what passes and every text
our cards carry use; Kanji and structured append decline (zxing reads those when flat).
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from qrcode.base import rs_blocks

from . import rs
from .qrgrid import MAX_VERSION, known_modules

#: Format information: BCH(15, 5) generator and the mask XORed onto it.
FORMAT_POLY, FORMAT_MASK = 0x537, 0x5412
#: Chance (log10) that a block of noise decodes the way an accepted block did, per block:
#: one in a million.  Only a code whose every block decodes and whose bit stream then
#: parses to the standard's padding is read, and a pass's signature is checked after.
MAX_RISK = -6.0
#: Unsure reads: a block's decodes past `MAX_RISK` are kept while their risk is below this
#: (a decode inside the block's redundancy at all), the least risky `UNSURE_PER_BLOCK`
#: of them, and at most `UNSURE_READS` combinations of the blocks' are parsed.
UNSURE_RISK, UNSURE_PER_BLOCK, UNSURE_READS = 0.0, 3, 32
#: GMD tries per block after the errors-only one: each erases a further share of the
#: block's redundancy (a try costs 0.2-0.5 ms).
TRIES = 4
#: How fast a module's chance of being misread falls with the size of its value (values
#: are -1..1 from `scanner.equalise`); 3 and 6 read alike on the development seeds.
SURENESS = 6.0
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@dataclass(frozen=True)
class SoftRead:
    """What the soft decoder made of a grid: the text, and how hard it had to work."""

    text: str
    erased: int  # codewords erased over all blocks
    corrected: int  # codewords corrected beyond the erased ones
    risk: float  # log10 chance that noise gives this answer
    unsure: bool = False  # a block decoded only past MAX_RISK: needs a signature to vouch


# --------------------------------------------------------------------------- layout

def _format_word(ec_bits: int, mask: int) -> int:
    data = ec_bits << 3 | mask
    rem = data << 10
    for bit in range(14, 9, -1):
        if rem >> bit & 1:
            rem ^= FORMAT_POLY << (bit - 10)
    return (data << 10 | rem) ^ FORMAT_MASK


#: (ec bits, mask, +-1 per bit, most significant first) of all 32 valid format words.
FORMATS = [(ec, mask, np.array([1.0 if _format_word(ec, mask) >> (14 - i) & 1 else -1.0
                                for i in range(15)], np.float32))
           for ec in range(4) for mask in range(8)]


def format_positions(n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(row, col) of the 15 format bits, most significant first, in both copies."""
    first = [(8, c) for c in range(6)] + [(8, 7), (8, 8), (7, 8)] + [(r, 8) for r in range(5, -1, -1)]
    second = [(r, 8) for r in range(n - 1, n - 8, -1)] + [(8, c) for c in range(n - 8, n)]
    return first, second


@functools.lru_cache(maxsize=16)
def data_positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the data modules in reading order: two columns at a time from the
    bottom right, up then down, stepping over the vertical timing column."""
    function, _ = known_modules(n)
    function = function.copy()
    function[:9, :9] = function[:9, n - 8:] = function[n - 8:, :9] = True  # format areas
    rows, cols = [], []
    up = True
    col = n - 1
    while col > 0:
        if col == 6:
            col -= 1
        for count in range(n):
            r = n - 1 - count if up else count
            for c in (col, col - 1):
                if not function[r, c]:
                    rows.append(r)
                    cols.append(c)
        up = not up
        col -= 2
    return np.array(rows), np.array(cols)


def mask_pattern(mask: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """True where mask pattern `mask` flips a module (ISO/IEC 18004 table 10)."""
    i, j = rows, cols
    return {
        0: (i + j) % 2 == 0,
        1: i % 2 == 0,
        2: j % 3 == 0,
        3: (i + j) % 3 == 0,
        4: (i // 2 + j // 3) % 2 == 0,
        5: (i * j) % 2 + (i * j) % 3 == 0,
        6: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        7: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    }[mask]


def read_format(soft: np.ndarray) -> tuple[int, int] | None:
    """(ec bits, mask) of the valid format word most like both copies' soft bits."""
    first, second = format_positions(soft.shape[0])
    bits = np.array([soft[p] for p in first]) + np.array([soft[p] for p in second])
    scores = [float(word @ bits) for _, _, word in FORMATS]
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        return None
    return FORMATS[best][0], FORMATS[best][1]


# --------------------------------------------------------------------------- codewords

def codewords(soft: np.ndarray, mask: int) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, reliability) of every codeword in reading order.  The reliability is the
    log of the chance that all 8 modules are read right, each module wrong with chance
    1 / (1 + e^(SURENESS |value|)): a codeword with several unsure modules is less sure
    than one with a single unsure module (development seeds, glare-blur: 55 of 80 read
    against 51 ranking codewords by their least sure module)."""
    rows, cols = data_positions(soft.shape[0])
    vals = soft[rows, cols]
    bits = (vals > 0) ^ mask_pattern(mask, rows, cols)
    count = len(bits) // 8  # remainder bits carry nothing
    bits = bits[:count * 8].reshape(count, 8)
    value = (bits * (1 << np.arange(7, -1, -1))).sum(1).astype(np.uint8)
    wrong = 1.0 / (1.0 + np.exp(SURENESS * np.abs(vals[:count * 8])))
    reliability = np.log1p(-wrong).reshape(count, 8).sum(1)
    return value, reliability


def split_blocks(version: int, ec_bits: int, count: int) -> list[tuple[np.ndarray, int]]:
    """(codeword indices in reading order, data length) per block: data codewords are
    interleaved across the blocks first, then the error-correction codewords."""
    blocks = rs_blocks(version, ec_bits)
    if sum(b.total_count for b in blocks) != count:
        raise ValueError("codeword count does not match the version")
    order: list[list[int]] = [[] for _ in blocks]
    i = 0
    for pos in range(max(b.data_count for b in blocks)):
        for b, block in enumerate(blocks):
            if pos < block.data_count:
                order[b].append(i)
                i += 1
    for pos in range(max(b.total_count - b.data_count for b in blocks)):
        for b, block in enumerate(blocks):
            if pos < block.total_count - block.data_count:
                order[b].append(i)
                i += 1
    return [(np.array(o), b.data_count) for o, b in zip(order, blocks)]


def is_codeword(block: np.ndarray, nsym: int) -> bool:
    """Whether every syndrome of the block is zero: nothing to correct."""
    return not rs.syndromes(block, nsym).any()


def miscorrection_risk(length: int, nsym: int, erased: int, errors: int) -> float:
    """log10 of the chance that a random word of `length` symbols decodes with `erased`
    erasures and at most `errors` errors: the decoding spheres' share of the space."""
    ball = sum(math.comb(length - erased, e) * 255 ** e for e in range(errors + 1))
    return math.log10(ball) - (nsym - erased) * math.log10(256)


def block_reads(data: np.ndarray, reliability: np.ndarray, nsym: int):
    """One block by generalised minimum distance decoding: errors only, then the least
    reliable codewords erased, more each try.  Returns ((data bytes, erased, corrected,
    risk) of the first try a noise word could not plausibly decode, or None; and the
    distinct decodes found on the way that were past `MAX_RISK` but within `UNSURE_RISK`,
    least risky first).  The unsure ones cost nothing more: they are the refused tries."""
    if is_codeword(data, nsym):
        return (data.tobytes()[:len(data) - nsym], 0, 0, -(nsym * math.log10(256))), []
    order = np.argsort(reliability, kind="stable")
    step = max(1, nsym // TRIES)
    unsure: dict[bytes, tuple[bytes, int, int, float]] = {}
    for erased in range(0, nsym, step):
        erase = sorted(int(i) for i in order[:erased])
        try:
            decoded, errata = rs.decode(data, nsym, erase)
        except rs.DecodeError:
            continue
        errors = len(errata) - erased
        risk = miscorrection_risk(len(data), nsym, erased, errors)
        if risk <= MAX_RISK:
            return (decoded, erased, errors, risk), []
        if risk <= UNSURE_RISK:
            unsure.setdefault(bytes(decoded), (decoded, erased, errors, risk))
    return None, sorted(unsure.values(), key=lambda read: read[3])


# --------------------------------------------------------------------------- bit stream

class _Bits:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def left(self) -> int:
        return len(self.data) * 8 - self.pos

    def read(self, count: int) -> int:
        if count > self.left():
            raise ValueError("bit stream ends inside a segment")
        value = 0
        for _ in range(count):
            byte = self.data[self.pos >> 3]
            value = value << 1 | (byte >> (7 - (self.pos & 7)) & 1)
            self.pos += 1
        return value


def _count_bits(mode: int, version: int) -> int:
    size = 0 if version < 10 else 1 if version < 27 else 2
    return {1: (10, 12, 14), 2: (9, 11, 13), 4: (8, 16, 16)}[mode][size]


def _segment(bits: _Bits, mode: int, version: int, charset: str) -> str:
    count = bits.read(_count_bits(mode, version))
    if mode == 1:  # numeric: three digits in 10 bits, then 7 or 4
        out = []
        while count >= 3:
            value = bits.read(10)
            if value > 999:
                raise ValueError("numeric group over 999")
            out.append(f"{value:03d}")
            count -= 3
        if count:
            value = bits.read(7 if count == 2 else 4)
            out.append(f"{value:0{count}d}")
        return "".join(out)
    if mode == 2:  # alphanumeric: two characters in 11 bits
        out = []
        while count >= 2:
            a, b = divmod(bits.read(11), 45)
            if a >= 45:
                raise ValueError("alphanumeric pair out of range")
            out += [ALNUM[a], ALNUM[b]]
            count -= 2
        if count:
            out.append(ALNUM[bits.read(6)])
        return "".join(out)
    raw = bytes(bits.read(8) for _ in range(count))
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1")


def parse(data: bytes, version: int) -> str:
    """The text of a code's data codewords; ValueError unless it parses to its padding."""
    bits = _Bits(data)
    text, charset = [], "utf-8"
    while bits.left() >= 4:
        mode = bits.read(4)
        if mode == 0:
            break
        if mode == 7:  # ECI: 26 is UTF-8, 3 and 1 are Latin-1; others read as UTF-8
            eci = bits.read(8)
            if eci & 0x80:
                eci = (eci & 0x3F) << 8 | bits.read(8) if not eci & 0x40 else \
                    (eci & 0x1F) << 16 | bits.read(16)
            charset = {1: "latin-1", 3: "latin-1", 26: "utf-8"}.get(eci, "utf-8")
            continue
        if mode not in (1, 2, 4):
            raise ValueError(f"segment mode {mode} is not read here")
        text.append(_segment(bits, mode, version, charset))
    _check_padding(data, bits.pos)
    return "".join(text)


def _check_padding(data: bytes, pos: int) -> None:
    """After the terminator: zero bits to a byte, then 0xEC 0x11 alternating."""
    start = (pos + 7) // 8
    if pos % 8 and data[pos // 8] & (0xFF >> (pos % 8)):
        raise ValueError("non-zero bits after the terminator")
    for i, byte in enumerate(data[start:]):
        if byte != (0xEC, 0x11)[i % 2]:
            raise ValueError("padding is not 0xEC 0x11")


# --------------------------------------------------------------------------- decoding

def decode_soft(soft: np.ndarray) -> SoftRead | None:
    """The text of a code from its n x n module darkness (-1 light .. +1 dark), or None."""
    return soft_reads(soft, unsure=False)[0]


def soft_reads(soft: np.ndarray, unsure: bool = True) -> tuple[SoftRead | None, list[SoftRead]]:
    """(the code's read, or None; and when there is none, its unsure reads: texts from
    blocks decoded past `MAX_RISK`, for a signature to vouch for or not)."""
    n = soft.shape[0]
    version = (n - 17) // 4
    if soft.shape != (n, n) or n != 17 + 4 * version or not 1 <= version <= MAX_VERSION:
        return None, []
    fmt = read_format(soft)
    if fmt is None:
        return None, []
    ec_bits, mask = fmt
    values, reliability = codewords(soft, mask)
    try:
        blocks = split_blocks(version, ec_bits, len(values))
    except ValueError:
        return None, []
    choices, sure = [], True
    for index, data_count in blocks:
        read, maybe = block_reads(values[index], reliability[index], len(index) - data_count)
        if read is None and not (unsure and maybe):
            return None, []
        sure = sure and read is not None
        choices.append([(b[:data_count], e, c, r) for b, e, c, r in
                        ([read] if read is not None else maybe[:UNSURE_PER_BLOCK])])
    reads = {}
    for combo in itertools.islice(itertools.product(*choices), 1 if sure else UNSURE_READS):
        try:
            text = parse(b"".join(bytes(block) for block, *_ in combo), version)
        except (ValueError, IndexError):
            continue
        if text and text not in reads:
            reads[text] = SoftRead(text, sum(b[1] for b in combo), sum(b[2] for b in combo),
                                   sum(b[3] for b in combo), unsure=not sure)
    if sure:
        return next(iter(reads.values()), None), []
    return None, sorted(reads.values(), key=lambda read: read.risk)
