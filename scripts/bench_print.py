"""Time a full print run: 7,000 demo passes to PDF, then the --verify read-back.

    .venv/bin/python scripts/bench_print.py [--passes 7000] [--no-verify] [--breakdown]

Builds the demo community in a throw-away SQLite database with throw-away
keys, so it never touches the office's data. Prints figures, asserts nothing.
``--breakdown`` also times each stage on its own in one process (fonts
cold), and the pure-python qrcode encoder the first version used.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.demo import build_community  # noqa: E402
from app.extensions import db  # noqa: E402
from gatepass import qrimage  # noqa: E402
from gatepass.tokens import KeyRing  # noqa: E402
from app.pdf import fonts, sheet  # noqa: E402
from app.pdf.qr import qr_paths_batch  # noqa: E402
from app.pdf.verify import verify_pdf  # noqa: E402
from app.services import printing  # noqa: E402
from app.services.keys import key_ring  # noqa: E402


def clock():
    return time.perf_counter(), time.process_time()


def since(start) -> str:
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    return f"{wall:6.2f} s wall {cpu:6.2f} s cpu"


def breakdown(cards_n: int) -> None:
    """Each stage alone, in this process (workers=0), fonts built from cold."""
    start = clock()
    passes = printing.select_passes(printing.Selection(all=True))
    print(f"  select + load passes   {since(start)}")
    start = clock()
    ring, tz = key_ring(), ZoneInfo("Asia/Shanghai")
    cards = [printing.card_for(p, ring, tz) for p in passes]
    print(f"  sign tokens            {since(start)}")
    start = clock()
    qrs = qr_paths_batch([c.token for c in cards])
    print(f"  QR encode + runs       {since(start)}  ({len(qrs)} codes)")
    sample = [c.token for c in cards[:200]]
    start = clock()
    for token in sample:
        qrimage.matrix(token)
    took = time.perf_counter() - start[0]
    print(f"  (qrcode, pure python:  {took / len(sample) * 1000:.1f} ms a code, "
          f"{took / len(sample) * len(cards):.0f} s for {len(cards)})")
    fonts._source.cache_clear()
    start = clock()
    regular, bold = printing.charsets(cards, "幸福里社区")
    fonts.font_subset("Regular", regular)
    fonts.font_subset("Bold", bold)
    print(f"  fonts (2 subsets, cold){since(start)}  ({len(regular)} + {len(bold)} characters)")
    original = printing.qr_paths
    printing.qr_paths = lambda tokens, pool: iter(qrs)
    try:
        start = clock()
        printing.render(cards, "幸福里社区", os.devnull, workers=0)
        print(f"  draw + compress + save {since(start)}  (QR and fonts ready)")
    finally:
        printing.qr_paths = original


def baseline(cards, out) -> float:
    """The obvious loop: qrcode matrix, one reportlab rect per dark module, s/card."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas
    fonts.register_fonts("", "")  # whatever CJK font we have, built before timing
    regular = fonts.font_name("Regular", "")
    start = time.perf_counter()
    canvas = Canvas(out, pagesize=A4)
    for i, card in enumerate(cards):
        x, y = sheet.card_origin(i)
        canvas.setFont(regular, 10)
        for k, value in enumerate((card.holder, card.address, card.validity, card.code)):
            canvas.drawString(x + 10, y + 20 + 20 * k, value)
        m = qrimage.matrix(card.token)
        s = sheet.QR_BOX / (len(m) + 8)
        for r, row in enumerate(m):
            for c, dark in enumerate(row):
                if dark:
                    canvas.rect(x + sheet.QR_X + (c + 4) * s,
                                y + sheet.QR_Y + (len(m) + 3 - r) * s, s, s, stroke=0, fill=1)
        if i % sheet.PER_PAGE == sheet.PER_PAGE - 1:
            canvas.showPage()
    canvas.save()
    return (time.perf_counter() - start) / len(cards)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=7000)
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--breakdown", action="store_true", help="time each stage on its own")
    ap.add_argument("--baseline", type=int, metavar="N",
                    help="also time the obvious qrcode + reportlab loop on N cards")
    ap.add_argument("--keep", help="write the PDF here (default: a temp dir)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-print-"))
    KeyRing.create_key(tmp / "keys", "k1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "KEYS_DIR": str(tmp / "keys"), "SECRET_KEY": "bench"})
    out = Path(args.keep) if args.keep else tmp / "passes.pdf"
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with app.app_context():
        db.create_all()
        start = clock()
        build_community(args.passes, scans=False)
        db.session.commit()
        db.session.remove()
        print(f"demo community of {args.passes} passes built: {since(start)}")
        start = clock()
        job = printing.print_passes(printing.Selection(all=True), out)
        took = time.perf_counter() - start[0]
        n = len(job.cards)
        print(f"printed {n} active passes on {job.pages} pages: {since(start)}, "
              f"{n / took:.0f} cards/s, {out.stat().st_size / 1e6:.1f} MB; font {job.font}")
        print(f"  -> 7,000 cards: {7000 * took / n:.1f} s")
        if not args.no_verify:
            start = clock()
            report = verify_pdf(out, job.cards)
            took = time.perf_counter() - start[0]
            print(f"verified {report.checked} cards, {len(report.failures)} failed: "
                  f"{since(start)} (main process), {report.checked / took:.0f} cards/s, "
                  f"{sheet.VERIFY_DPI} dpi, 2 processes")
        if args.baseline:
            per_card = baseline(job.cards[:args.baseline], str(tmp / "baseline.pdf"))
            print(f"obvious loop (qrcode, a rect per module) on {args.baseline} cards: "
                  f"{1 / per_card:.0f} cards/s -> 7,000 cards: {7000 * per_card:.0f} s")
        if args.breakdown:
            db.session.remove()
            print("stages, one process:")
            breakdown(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
