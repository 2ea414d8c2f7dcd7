"""Reading every printed QR back from a 300 dpi rendering, before paper is spent.

Only each card's QR area is rasterised (pypdfium2) and decoded (zxing-cpp),
cropped by its known position on the sheet; pages are shared out to forked
helper processes.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import zxingcpp
from reportlab.lib.units import mm

from .sheet import PAGE_H, PAGE_W, PER_PAGE, QR_BOX, QR_X, QR_Y, VERIFY_DPI, Card, card_origin
from .qr import helper_pool


Progress = Callable[[int, int], None]


@dataclass
class VerifyReport:
    checked: int = 0
    failures: list[tuple[Card, str]] = field(default_factory=list)  # (card, what was read)

    @property
    def ok(self) -> bool:
        return not self.failures


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
    pool = helper_pool(workers) if workers > 1 else None
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
