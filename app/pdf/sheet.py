"""Where every card sits on an A4 sheet (ten credit-card passes, 2 x 5, in points), and what a
card prints (``Card``): plain values, so drawing and reading back need no database.

Printing draws by these numbers and ``verify`` crops each card's QR by
them, so a QR drawn in the wrong place fails the check instead of passing.
PDF origin bottom-left.
"""
from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

CARD_W, CARD_H = 85.6 * mm, 54 * mm
COLS, ROWS = 2, 5
PER_PAGE = COLS * ROWS
PAGE_W, PAGE_H = A4
GRID_X = (PAGE_W - COLS * CARD_W) / 2
GRID_Y = (PAGE_H - ROWS * CARD_H) / 2
BAND_H = 11 * mm
QR_BOX = 39 * mm  # the QR with its quiet zone
QR_X, QR_Y = CARD_W - QR_BOX - 1.5 * mm, 1.5 * mm
TEXT_X = 4 * mm
TEXT_W = QR_X - TEXT_X - 0.5 * mm  # text never enters the QR's quiet zone
VERIFY_DPI = 300


def card_origin(slot: int) -> tuple[float, float]:
    """Bottom-left corner of card ``slot`` (0-9, row by row from the top)."""
    row, col = divmod(slot % PER_PAGE, COLS)
    return GRID_X + col * CARD_W, GRID_Y + (ROWS - 1 - row) * CARD_H


@dataclass(frozen=True)
class Card:
    """A card's printed values: plain text, so rendering needs no database."""

    pass_id: int
    code: str
    token: str
    category: str
    holder: str
    address: str
    validity: str
