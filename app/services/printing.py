"""Batch printing of pass cards: A4 sheets of ten credit-card passes.

The office replaces ~7,000 hand-written passes in one go, so speed matters as
much as looks: the QR is one vector path per card built straight from the
module matrix (no images: crisp at any printer resolution, small files),
everything that is the same on every card of a category is one PDF form
drawn by reference, and the Chinese text is an embedded subset of Noto Sans
CJK holding only the characters this job uses (a print shop's computer may
have no Chinese font). ``verify_pdf`` reads every printed QR back from a
300 dpi rendering, so a batch is proven scannable before paper is spent.

The sheet's geometry and what a card prints (``Card``) are ``app.pdf.sheet``, the QR
paths ``app.pdf.qr``, the read-back ``app.pdf.verify``, the fonts ``app.pdf.fonts``;
this module selects the passes, lays out the cards and draws them.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timezone
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from gatepass.addresses import building_name, natural_key
from gatepass.categories import CATEGORIES, colour, label
from gatepass.status import PassStatus
from gatepass.tokens import issue_static
from ..config import community_tz
from ..common.errors import ServiceError
from ..pdf.sheet import (BAND_H, CARD_H, CARD_W, COLS, GRID_X, GRID_Y, PAGE_H, PAGE_W, PER_PAGE,
                         QR_BOX, QR_X, QR_Y, ROWS, TEXT_W, TEXT_X, Card, card_origin)
from ..pdf.fonts import font_subset, font_name, is_registered, register_fonts
from ..pdf.qr import draw_qr_path, helper_pool, qr_paths
from ..pdf.verify import verify_pdf  # noqa: F401 - the print commands call printing.verify_pdf

Progress = Callable[[int, int], None]
#: ``Pass.printed_kid`` of a pass that may have a card whose key nobody recorded (migration
#: c15000000002): on the reprint list after any rotation.
UNKNOWN_KID = "?"

# -- what goes on a card ------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Which active passes to print; filters combine (AND)."""

    all: bool = False
    building: str | None = None
    category: str | None = None
    since: date | None = None
    #: Cards printed with a key that no longer signs new passes (after ``keys rotate``):
    #: the list the office reprints before ``keys retire`` (see docs/deploy.md).
    reprint: bool = False

    @property
    def empty(self) -> bool:
        return not (self.all or self.building or self.category or self.since or self.reprint)


class SelectionError(ServiceError):
    """A selection that cannot be printed (shown to the operator as is)."""


@dataclass
class PrintJob:
    cards: list[Card]
    pages: int
    font: str
    pdf: bytes | None = None  # when no path was given
    path: Path | None = None


def _needs_reprint(Pass):
    """Cards that may carry a key that no longer signs: printed with another key, or printed
    before anyone recorded which (``UNKNOWN_KID``, set by migration c15000000002 on every pass
    that existed then), once a rotation happened. Unknown counts as old: a card left off this
    list is refused ``KEY_RETIRED`` at the gate after ``keys retire``, with no warning; one
    reprinted too many costs a sheet. NULL is "never made into a card": every way a card
    leaves the office records its key (``mark_printed``)."""
    from sqlalchemy import and_, or_

    from .keys import signing_ring
    ring = signing_ring()
    current = ring.current
    known_old = and_(Pass.printed_kid.is_not(None), Pass.printed_kid != UNKNOWN_KID,
                     Pass.printed_kid != current.kid)
    if not any(k.kid != current.kid for k in ring):  # never rotated: nothing is old
        return known_old
    return or_(known_old, Pass.printed_kid == UNKNOWN_KID)


def mark_printed(passes, kid: str | None = None) -> None:
    """Record which key the cards just made of ``passes`` carry: every way a card leaves the
    office (batch print, reprint, the pass page's PNG/SVG downloads) calls this, so the
    reprint list after ``keys rotate`` misses none."""
    from .keys import signing_ring
    kid, now = kid or signing_ring().current.kid, datetime.now(timezone.utc)
    for p in passes:
        p.printed_kid, p.printed_at = kid, now


def select_passes(sel: Selection) -> list:
    """Active passes for ``sel``, eagerly loaded, in the order cards are handed out.

    Sorted by building, unit and room so one building's cards come off the
    printer together; passes without a household (workers, visitors' cars) last.
    """
    from sqlalchemy import or_
    from sqlalchemy.orm import selectinload

    from ..extensions import db
    from ..models import Building, Household, Pass, Person, Vehicle

    if sel.empty:
        raise SelectionError("NO_SELECTION", "请选择“全部”或一个筛选条件（楼栋、类别、签发日期）",
                             "choose --all or a filter (--building, --category, --since)")
    stmt = db.select(Pass).where(Pass.status == PassStatus.ACTIVE).options(
        selectinload(Pass.person).joinedload(Person.household).joinedload(Household.building),
        selectinload(Pass.vehicle).joinedload(Vehicle.household).joinedload(Household.building))
    if sel.category:
        if sel.category not in CATEGORIES:
            raise SelectionError("BAD_CATEGORY", f"未知类别 {sel.category}",
                                 f"unknown category {sel.category}: one of {', '.join(CATEGORIES)}")
        stmt = stmt.where(Pass.category == sel.category)
    if sel.building:
        name = building_name(sel.building, set(db.session.scalars(db.select(Building.name))))
        b = db.session.scalar(db.select(Building).where(Building.name == name))
        if b is None:
            raise SelectionError("UNKNOWN_BUILDING", f"没有楼栋 {name}", f"no building {name}")
        people = db.select(Person.id).join(Household).where(Household.building_id == b.id)
        cars = db.select(Vehicle.id).join(Household).where(Household.building_id == b.id)
        stmt = stmt.where(or_(Pass.person_id.in_(people), Pass.vehicle_id.in_(cars)))
    if sel.since:
        tz = community_tz()
        start = datetime.combine(sel.since, dtime(0), tz)
        stmt = stmt.where(or_(Pass.issued_at >= start, Pass.updated_at >= start))
    if sel.reprint:
        stmt = stmt.where(_needs_reprint(Pass))
    passes = db.session.scalars(stmt).unique().all()

    def key(p):
        hh = (p.person or p.vehicle).household
        if hh is None:
            return (1, (), (), (), p.category == "vehicle", p.category, p.id)
        return (0, natural_key(hh.building.name), natural_key(hh.unit), natural_key(hh.room),
                p.category == "vehicle", p.category, p.id)
    return sorted(passes, key=key)


def card_for(p, ring, tz: ZoneInfo) -> Card:
    second = p.address or (p.person.employer if p.person else "外来车辆")
    if p.valid_until:
        start = (p.valid_from or p.issued_at).astimezone(tz).date().isoformat()
        validity = f"{start}—{p.valid_until.astimezone(tz).date().isoformat()}"
    else:
        validity = "长期有效"
    return Card(pass_id=p.id, code=p.code, token=issue_static(ring, p.id, p.serial),
                category=p.category, holder=p.masked_holder, address=second, validity=validity)


# -- rendering ---------------------------------------------------------------------

FIXED_TEXT = "有效期长期编号第页共打印0123456789-—/: ·外来车辆"


def render(cards: list[Card], community: str, out: str | os.PathLike | None = None,
           progress: Progress | None = None, printed_on: date | None = None,
           workers: int | None = None) -> tuple[bytes | None, int, str]:
    """Draw ``cards`` ten to an A4 page; return (pdf bytes or None, pages, font).

    ``workers``: helper processes for QR encoding and the bold font
    (default: 2 for batches of 1,000 cards or more, else none).
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(cards) >= 1000 else 0
    labels = {c: label(c) for c in CATEGORIES}
    regular_chars, bold_chars = charsets(cards, community)
    pool = helper_pool(workers)
    try:
        bold_job = None
        if pool and not is_registered(font_name("Bold", bold_chars)):
            bold_job = pool.submit(font_subset, "Bold", bold_chars)
        qrs = qr_paths([c.token for c in cards], pool)
        regular, bold, font_desc = register_fonts(regular_chars, bold_chars, bold_job)
        target = str(out) if out is not None else io.BytesIO()
        canvas = Canvas(target, pagesize=A4, pageCompression=1, invariant=1,
                        initialFontName=regular, initialFontSize=8)
        canvas.setTitle(f"{community} 通行证")
        canvas.setCreator("gatepass")
        _forms(canvas, community, labels, regular, bold)
        pages = max(1, -(-len(cards) // PER_PAGE))
        footer = f"{community} · 第 {{}}/{pages} 页 · {(printed_on or date.today()).isoformat()} 打印"
        for page in range(pages):
            canvas.doForm("cutmarks")
            canvas.setFont(regular, 6.5)
            canvas.setFillGray(0.45)
            canvas.drawCentredString(PAGE_W / 2, GRID_Y / 2 - 2, footer.format(page + 1))
            for slot, card in enumerate(cards[page * PER_PAGE:(page + 1) * PER_PAGE]):
                _card(canvas, card, slot, next(qrs), regular, bold)
            canvas.showPage()
            if progress:
                progress(min(len(cards), (page + 1) * PER_PAGE), len(cards))
        canvas.save()
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return (None if out is not None else target.getvalue()), pages, font_desc


def charsets(cards: list[Card], community: str) -> tuple[str, str]:
    """The characters each weight of the font must hold for these cards."""
    def chars(texts: Iterable[str]) -> str:
        return "".join(sorted(set("".join(texts))))
    return (chars([FIXED_TEXT, community] + [c.address + c.validity for c in cards]),
            chars([FIXED_TEXT, community] + [label(c) for c in CATEGORIES]
                  + [c.holder + c.code for c in cards]))


def _forms(canvas: Canvas, community: str, labels: dict, regular: str, bold: str) -> None:
    """What every card of a category shares, and the page's cut marks, drawn once."""
    for code, text in labels.items():
        canvas.beginForm(f"card-{code}", 0, 0, CARD_W, CARD_H)
        canvas.setFillColor(colour(code))
        canvas.rect(0, CARD_H - BAND_H, CARD_W, BAND_H, stroke=0, fill=1)
        canvas.setFillColorRGB(1, 1, 1)
        canvas.setFont(bold, 10)
        canvas.drawString(TEXT_X, CARD_H - BAND_H + 3.9 * mm, community)
        canvas.setFont(bold, 15)
        canvas.drawRightString(CARD_W - 4 * mm, CARD_H - BAND_H + 3.2 * mm, text)
        canvas.setFillGray(0.45)
        canvas.setFont(regular, 6.5)
        canvas.drawString(TEXT_X, 16 * mm, "有效期")
        canvas.drawString(TEXT_X, 8.8 * mm, "编号")
        canvas.setFillColor(colour(code))
        canvas.rect(0, 0, 1.6 * mm, CARD_H - BAND_H, stroke=0, fill=1)
        canvas.endForm()
    canvas.beginForm("cutmarks", 0, 0, PAGE_W, PAGE_H)
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0)
    top, right = GRID_Y + ROWS * CARD_H, GRID_X + COLS * CARD_W
    gap, length = 2 * mm, 7 * mm
    for i in range(COLS + 1):
        x = GRID_X + i * CARD_W
        canvas.line(x, top + gap, x, top + gap + length)
        canvas.line(x, GRID_Y - gap, x, GRID_Y - gap - length)
    for j in range(ROWS + 1):
        y = GRID_Y + j * CARD_H
        canvas.line(GRID_X - gap, y, GRID_X - gap - length, y)
        canvas.line(right + gap, y, right + gap + length, y)
    canvas.endForm()


def _card(canvas: Canvas, card: Card, slot: int, qr: tuple[int, str],
          regular: str, bold: str) -> None:
    x, y = card_origin(slot)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.doForm(f"card-{card.category}" if card.category in CATEGORIES else "card-other")
    canvas.setFillGray(0)
    text = canvas.beginText()
    for font, size, top, value in (
            (bold, 16, 32 * mm, card.holder),
            (regular, 9.5, 25 * mm, card.address),
            (regular, 7.5, 12.8 * mm, card.validity),
            (bold, 12, 3.6 * mm, card.code)):
        width = pdfmetrics.stringWidth(value, font, size)
        if width > TEXT_W:  # a long address must not run into the QR's quiet zone
            size *= TEXT_W / width
        text.setFont(font, size)
        text.setTextOrigin(TEXT_X, top)
        text.textOut(value)
    canvas.drawText(text)
    draw_qr_path(canvas, qr, QR_X, QR_Y, QR_BOX)
    canvas.restoreState()


# -- the use case ----------------------------------------------------------------

def print_passes(selection: Selection, out: str | os.PathLike | None = None,
                 progress: Progress | None = None) -> PrintJob:
    """Select, sign and render; needs an app context. Raises SelectionError."""
    from .communities import community_name
    from .keys import signing_ring

    passes = select_passes(selection)
    if not passes:
        raise SelectionError("NOTHING_TO_PRINT", "没有符合条件的有效通行证", "no active pass matches the selection")
    if progress:
        progress(0, len(passes))
    ring, tz = signing_ring(), community_tz()
    cards = [card_for(p, ring, tz) for p in passes]
    pdf, pages, font = render(cards, community_name(), out, progress,
                              datetime.now(tz).date())
    mark_printed(passes, ring.current.kid)  # after a key rotation: the cards to reprint
    from ..common.audit import record_action
    record_action("pass.print", f"cards:{len(cards)}", detail=_selection_text(selection)
                  + " | " + " ".join(c.code for c in cards[:30]) + (" …" if len(cards) > 30 else ""))
    return PrintJob(cards=cards, pages=pages, font=font, pdf=pdf,
                    path=Path(out) if out is not None else None)


def _selection_text(sel: Selection) -> str:
    parts = [f"{k}={v}" for k, v in (("building", sel.building), ("category", sel.category),
                                      ("since", sel.since)) if v]
    return " ".join(parts + ["all"] * sel.all + ["reprint"] * sel.reprint) or "-"
