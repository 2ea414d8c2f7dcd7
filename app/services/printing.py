"""Batch printing of pass cards: A4 sheets of ten credit-card passes.

The office replaces ~7,000 hand-written passes in one go, so speed matters as
much as looks: the QR is one vector path per card built straight from the
module matrix (no images: crisp at any printer resolution, small files),
everything that is the same on every card of a category is one PDF form
drawn by reference, and the Chinese text is an embedded subset of Noto Sans
CJK holding only the characters this job uses (a print shop's computer may
have no Chinese font). ``verify_pdf`` reads every printed QR back from a
300 dpi rendering, so a batch is proven scannable before paper is spent.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

import numpy as np
import zxingcpp
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from gatepass.categories import CATEGORIES, colour, label
from gatepass.qrimage import QUIET_ZONE
from gatepass.tokens import issue_static
from ..config import community_tz
from .errors import ServiceError
from .pdf_fonts import font_subset, font_name, is_registered, register_fonts

Progress = Callable[[int, int], None]

# -- sheet geometry (points; PDF origin bottom-left) ---------------------------
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


# -- what goes on a card ------------------------------------------------------

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


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[tuple[Card, str]] = field(default_factory=list)  # (card, what was read)

    @property
    def ok(self) -> bool:
        return not self.failures


def building_name(value: str) -> str:
    """The office says "3" as often as "3号楼"."""
    value = (value or "").strip()
    return f"{value}号楼" if value.isdigit() else value


def natural_key(text: str) -> tuple:
    """2号楼 before 10号楼."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text or ""))


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
    stmt = db.select(Pass).where(Pass.status == "active").options(
        selectinload(Pass.person).joinedload(Person.household).joinedload(Household.building),
        selectinload(Pass.vehicle).joinedload(Vehicle.household).joinedload(Household.building))
    if sel.category:
        if sel.category not in CATEGORIES:
            raise SelectionError("BAD_CATEGORY", f"未知类别 {sel.category}",
                                 f"unknown category {sel.category}: one of {', '.join(CATEGORIES)}")
        stmt = stmt.where(Pass.category == sel.category)
    if sel.building:
        name = building_name(sel.building)
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
        from .keys import key_ring
        stmt = stmt.where(Pass.printed_kid.is_not(None), Pass.printed_kid != key_ring().current.kid)
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


# -- QR as vector runs ----------------------------------------------------------

def qr_paths_batch(tokens: list[str]) -> list[tuple[int, str]]:
    """For each token: (modules across incl. quiet zone, PDF path ops, module units, y up).

    One ``re`` per horizontal run of dark modules, all in one path filled
    once: ~4x fewer operators than one square per module, and a single fill
    leaves no hairline seams between rows in on-screen renderings. zxing-cpp's
    C++ encoder (level M, standard mask choice) is ~40x faster than the
    pure-python qrcode package (~10 ms a code: over a minute for 7,000 cards),
    and the runs of a whole batch are found and formatted in one go by numpy
    as fixed-width "xx yy ww 1 re".
    """
    mats = [np.asarray(zxingcpp.create_barcode(t, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
                       .to_image(scale=1, add_quiet_zones=False)) for t in tokens]
    out: list = [None] * len(tokens)
    for n in {m.shape[0] for m in mats}:
        idx = [i for i, m in enumerate(mats) if m.shape[0] == n]
        padded = np.zeros((len(idx), n, n + 2), np.int8)
        padded[:, :, 1:-1] = np.stack([mats[i] for i in idx]) < 128
        edges = np.diff(padded, axis=2).reshape(len(idx), -1)
        which, starts = np.nonzero(edges == 1)
        ends = np.nonzero(edges == -1)[1]
        ys, xs = np.divmod(starts, n + 1)
        runs = np.stack([xs + QUIET_ZONE, n - 1 - ys + QUIET_ZONE, ends - starts], axis=1)
        digits = len(str(n + 2 * QUIET_ZONE))
        chars = np.full((len(runs), 3, digits + 1), ord(" "), np.uint8)
        rest = runs
        for d in range(digits - 1, -1, -1):
            rest, chars[:, :, d] = np.divmod(rest, 10)
            chars[:, :, d] += ord("0")
        lead = chars[:, :, :-2]  # " 7", not "07"
        lead[np.cumprod(lead == ord("0"), axis=2, dtype=bool)] = ord(" ")
        tail = np.broadcast_to(np.frombuffer(b"1 re ", np.uint8), (len(runs), 5))
        blob = np.concatenate([chars.reshape(len(runs), -1), tail], axis=1).tobytes()
        width = 3 * (digits + 1) + 5
        bounds = np.concatenate([[0], np.cumsum(np.bincount(which, minlength=len(idx)))]) * width
        for j, i in enumerate(idx):
            out[i] = (n + 2 * QUIET_ZONE, blob[bounds[j]:bounds[j + 1]].decode("ascii"))
    return out


def qr_path(token: str) -> tuple[int, str]:
    return qr_paths_batch([token])[0]


def _pool(workers: int) -> ProcessPoolExecutor | None:
    """Helper processes, forked, or None where that is unsafe or pointless.

    Only a single-threaded process (the CLI) forks; a threaded web server
    renders in-process, as spawned helpers would re-import the whole app.
    """
    import multiprocessing
    if workers < 1 or os.name != "posix" or threading.active_count() > 1:
        return None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def qr_paths(tokens: list[str], pool: ProcessPoolExecutor | None) -> Iterator[tuple[int, str]]:
    """QR paths of every token, in order; in ``pool``'s processes if given.

    Encoding is the largest single cost of a batch (~0.4 ms a card) and
    the main process has fonts and text to draw meanwhile. All chunks are
    submitted at once, so the workers run ahead of the drawing.
    """
    chunks = [tokens[i:i + 200] for i in range(0, len(tokens), 200)]
    chunks = pool.map(qr_paths_batch, chunks) if pool else map(qr_paths_batch, chunks)
    return (qr for chunk in chunks for qr in chunk)


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
    pool = _pool(workers)
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
    n, ops = qr
    s = QR_BOX / n
    canvas.addLiteral(f"q 0 g {s:.5f} 0 0 {s:.5f} {QR_X:.3f} {QR_Y:.3f} cm {ops}f Q")
    canvas.restoreState()


# -- the use case ----------------------------------------------------------------

def print_passes(selection: Selection, out: str | os.PathLike | None = None,
                 progress: Progress | None = None) -> PrintJob:
    """Select, sign and render; needs an app context. Raises SelectionError."""
    from flask import current_app

    from .keys import key_ring

    passes = select_passes(selection)
    if not passes:
        raise SelectionError("NOTHING_TO_PRINT", "没有符合条件的有效通行证", "no active pass matches the selection")
    if progress:
        progress(0, len(passes))
    ring, tz = key_ring(), community_tz()
    cards = [card_for(p, ring, tz) for p in passes]
    pdf, pages, font = render(cards, current_app.config["COMMUNITY_NAME"], out, progress,
                              datetime.now(tz).date())
    # Which key each card carries: after a key rotation these are the cards to reprint.
    kid, now = ring.current.kid, datetime.now(timezone.utc)
    for p in passes:
        p.printed_kid, p.printed_at = kid, now
    from .audit import record_action
    record_action("pass.print", f"cards:{len(cards)}", detail=_selection_text(selection)
                  + " | " + " ".join(c.code for c in cards[:30]) + (" …" if len(cards) > 30 else ""))
    return PrintJob(cards=cards, pages=pages, font=font, pdf=pdf,
                    path=Path(out) if out is not None else None)


def _selection_text(sel: Selection) -> str:
    parts = [f"{k}={v}" for k, v in (("building", sel.building), ("category", sel.category),
                                      ("since", sel.since)) if v]
    return " ".join(parts + ["all"] * sel.all + ["reprint"] * sel.reprint) or "-"


# -- reading the QR codes back -------------------------------------------------------

def _read_pages(pdf_path: str, pages: list[int], dpi: int = VERIFY_DPI) -> list[list[str | None]]:
    """For each page, what each card slot's QR reads as ("" for nothing).

    Only each card's QR area (with 2 mm around it) is rasterised, cropped by
    its known position: half the pixels of a whole page, and a QR drawn in
    the wrong place fails instead of passing.
    """
    import pypdfium2 as pdfium

    scale, pad = dpi / 72, 2 * mm
    doc = pdfium.PdfDocument(pdf_path)
    out = []
    try:
        for index in pages:
            page = doc[index]
            texts = []
            for slot in range(PER_PAGE):
                x, y = card_origin(slot)
                left, bottom = x + QR_X - pad, y + QR_Y - pad
                right, top = left + QR_BOX + 2 * pad, bottom + QR_BOX + 2 * pad
                bitmap = page.render(scale=scale, grayscale=True,
                                     crop=(left, bottom, PAGE_W - right, PAGE_H - top))
                img = bitmap.to_numpy()
                found = zxingcpp.read_barcodes(img.reshape(img.shape[:2]),
                                               formats=zxingcpp.BarcodeFormat.QRCode)
                texts.append("|".join(f.text for f in found))
            page.close()
            out.append(texts)
    finally:
        doc.close()
    return out


def verify_pdf(pdf: str | os.PathLike | bytes, cards: list[Card],
               progress: Progress | None = None, workers: int = 2) -> VerifyReport:
    """Decode every card's QR from a 300 dpi rendering; compare with its token.

    ``cards`` in print order (``PrintJob.cards``). Pages are shared out to
    ``workers`` processes, ten at a time.
    """
    tmp = None
    if isinstance(pdf, (bytes, bytearray)):
        with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as tmp:
            tmp.write(pdf)
        pdf = tmp.name
    pages = -(-len(cards) // PER_PAGE)
    chunks = [list(range(i, min(i + 10, pages))) for i in range(0, pages, 10)]
    workers = min(workers, os.cpu_count() or 1, len(chunks))
    report = VerifyReport()
    pool = _pool(workers) if workers > 1 else None
    try:
        results = (pool.map(_read_pages, [str(pdf)] * len(chunks), chunks) if pool
                   else (_read_pages(str(pdf), chunk) for chunk in chunks))
        for chunk, texts in zip(chunks, results):
            for page, slots in zip(chunk, texts):
                for slot, got in enumerate(slots):
                    i = page * PER_PAGE + slot
                    if i < len(cards):
                        report.checked += 1
                        if got != cards[i].token:
                            report.failures.append((cards[i], got))
            if progress:
                progress(min(len(cards), (chunk[-1] + 1) * PER_PAGE), len(cards))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        if tmp:
            os.unlink(tmp.name)
    return report
