#!/usr/bin/env python3
"""A sub-district on one PostgreSQL, measured beside one community alone (issue 18, "Scale").

Two databases in the same run, generated in SQL (``scripts/district_data.py``):

  district  N communities (default 200: 1,000,000 passes, 10,000,000 scans over 30 days)
  one       1 community the size of one of them (5,000 passes, 50,000 scans)

and, against both, alternating requests so the machine's load falls on both alike:

  scan API      POST /api/v1/scans at c1's gate: in-process (one thread) and under gunicorn
                (4 workers, 32 connections, ``bench_scans``' load generator): scans/s, p99
  pages         every GET page of /office/ without a URL variable, a few with a search,
                and the exports: median of 9 each, as c1's office / health / admin
  /district/    the sub-district's page as the district user (p95 of 20), if it exists
  snapshot      c1's gate snapshot: a full 200 and an unchanged poll (304)
  RLS           the same SQL as the service's role with c1's scope, with the row-level
                security policies and without (ALTER TABLE ... DISABLE, rolled back)

    .venv/bin/python scripts/bench_district.py [--small] [--communities N]
        [--scans-each N] [--reuse] [--repeat 9] [--json build/bench-district.json]

``--small``: 20 communities of 5,000 scans each (about a minute and a half), for
development. ``--reuse`` measures the databases left by a previous run (no generation);
``--generate-only`` makes them and stops. Pages are the median of ``--repeat`` requests
per database, 3 for one whose first request took over 3 s (the full-size exports).
Databases: ``gp_scale_district`` and ``gp_scale_one`` on the local server
(``scripts/ensure-postgres.sh``); their schema is dropped and made again by ``init-db``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from sqlalchemy import create_engine, text  # noqa: E402

import district_data  # noqa: E402
from bench_district_measure import Bench, print_table  # noqa: E402


def database_url(name: str) -> str:
    url = subprocess.run(["bash", str(ROOT / "scripts/ensure-postgres.sh")], check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "TEST_POSTGRES_DB": name}).stdout.strip()
    if not url:
        raise SystemExit("no PostgreSQL server (scripts/ensure-postgres.sh printed nothing)")
    return url


def make_app(url: str, keys_dir: str):
    from app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "KEYS_DIR": keys_dir,
                       "SECRET_KEY": "bench-" + uuid.uuid4().hex, "WTF_CSRF_ENABLED": False,
                       "LOGIN_LIMIT_PER_USER": "100000 per minute",
                       "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
                       "SERVER_NAME": "localhost", "LOG_LEVEL": "WARNING"})


def fresh_schema(url: str, keys_dir: str) -> None:
    """Drop everything in the database (its owner may: no superuser needed) and run the
    migrations as ``flask init-db`` does, which also makes the first community."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = make_app(url, keys_dir)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(directory=str(ROOT / "migrations"))
        from app.extensions import db
        db.engine.dispose()


def generate(name: str, url: str, keys_dir: str, size: district_data.Size) -> float:
    print(f"{name}: {size.communities} communities, {size.communities * district_data.PASSES:,} "
          f"passes, {size.communities * size.scans_each:,} scans", flush=True)
    fresh_schema(url, keys_dir)
    engine = create_engine(url)
    try:
        return district_data.generate(engine, size)
    finally:
        engine.dispose()


def database_size(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("select pg_size_pretty(pg_database_size(current_database()))")
                            ).scalar()
    engine.dispose()
    return size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="20 communities, 5,000 scans each")
    ap.add_argument("--communities", type=int)
    ap.add_argument("--scans-each", type=int, help="scans per community (30 days)")
    ap.add_argument("--reuse", action="store_true", help="measure the last run's databases")
    ap.add_argument("--repeat", type=int, default=9, help="requests per page and database")
    ap.add_argument("--scan-seconds", type=float, default=4.0)
    ap.add_argument("--no-gunicorn", action="store_true", help="scan API in-process only")
    ap.add_argument("--generate-only", action="store_true", help="make the databases, measure nothing")
    ap.add_argument("--pages", help="comma-separated URLs: measure only these pages")
    ap.add_argument("--json", default=str(ROOT / "build" / "bench-district.json"))
    args = ap.parse_args()
    communities = args.communities or (20 if args.small else 200)
    each = args.scans_each or (5_000 if args.small else 50_000)
    os.environ.setdefault("SUBDISTRICT_NAME", "幸福街道")  # init-db's first community's
    keys_dir = tempfile.mkdtemp(prefix="bench-district-keys-")
    from gatepass.tokens import KeyRing
    KeyRing.create_key(keys_dir, "b1")  # c1's ring is KEYS_DIR itself
    urls = {"district": database_url("gp_scale_district"), "one": database_url("gp_scale_one")}
    generated = {}
    if not args.reuse:
        generated["district"] = generate("district", urls["district"], keys_dir,
                                         district_data.Size(communities, each))
        generated["one"] = generate("one", urls["one"], keys_dir, district_data.Size(1, each))
    if args.generate_only:
        print(f"generated: {generated}")
        return
    apps = {name: make_app(url, keys_dir) for name, url in urls.items()}
    load_before = list(os.getloadavg())  # the machine is shared: say how busy it was
    bench = Bench(apps, repeat=args.repeat, scan_seconds=args.scan_seconds)
    server_env = {**os.environ, "KEYS_DIR": keys_dir, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                  "LOG_LEVEL": "WARNING"}
    if args.pages:
        results = bench.run_pages(args.pages.split(","))
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
        return
    results = bench.run(None if args.no_gunicorn else server_env)
    results["meta"] = {"communities": communities, "scans_each": each,
                       "generated_s": {k: round(v) for k, v in generated.items()},
                       "size": {k: database_size(u) for k, u in urls.items()},
                       "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "load_before": load_before, "load_after": list(os.getloadavg())}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print_table(results)


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"\n({statistics.fmean([time.monotonic() - t0]):.0f} s in all)")
