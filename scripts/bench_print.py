"""Time a full print run: 7,000 demo passes to PDF, then the --verify read-back.

    .venv/bin/python scripts/bench_print.py [--passes 7000] [--no-verify] [--profile]

Builds the demo community in a throw-away SQLite database with throw-away
keys, so it never touches the office's data. Prints figures, asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.demo import build_community  # noqa: E402
from app.extensions import db  # noqa: E402
from app.passes.tokens import KeyRing  # noqa: E402
from app.services import printing  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=7000)
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile the print step, top 25")
    ap.add_argument("--keep", help="copy the PDF here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-print-"))
    KeyRing.create_key(tmp / "keys", "k1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "KEYS_DIR": str(tmp / "keys"), "SECRET_KEY": "bench"})
    out = Path(args.keep) if args.keep else tmp / "passes.pdf"
    with app.app_context():
        db.create_all()
        t = time.perf_counter()
        build_community(args.passes, scans=False)
        db.session.commit()
        print(f"demo community of {args.passes} passes built in {time.perf_counter() - t:.1f} s")
        db.session.remove()
        profiler = cProfile.Profile() if args.profile else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        job = printing.print_passes(printing.Selection(all=True), out)
        if profiler:
            profiler.disable()
        took = time.perf_counter() - t
    n = len(job.cards)
    print(f"printed {n} cards on {job.pages} pages in {took:.2f} s ({n / took:.0f} cards/s), "
          f"{out.stat().st_size / 1e6:.1f} MB, font: {job.font}")
    print(f"7,000 cards would take {7000 * took / n:.2f} s")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    if not args.no_verify:
        t = time.perf_counter()
        report = printing.verify_pdf(out, job.cards)
        took = time.perf_counter() - t
        print(f"verified {report.checked} cards, {len(report.failures)} failed in {took:.1f} s "
              f"({report.checked / took:.0f} cards/s, 300 dpi, 2 processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
