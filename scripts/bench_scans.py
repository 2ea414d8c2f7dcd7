#!/usr/bin/env python3
"""How fast is the scan API, against what the machine can do at all?

For each database (SQLite WAL, PostgreSQL) it runs, with the same load generator and
the same gunicorn config (gunicorn.conf.py, same workers):

  service  POST /api/v1/scans of the real app: device token, signature, pass row lock,
           rules, the scan row with its stored answer;
  bare     a Flask endpoint that parses the same JSON and inserts one row into a table of
           the same kind of database: the ceiling for "one HTTP request, one INSERT".

It prints scans/s, p50, p99, failed requests, and checks the database afterwards:
lost = answered 200 but not stored, duplicated = a nonce stored twice.

    .venv/bin/python scripts/bench_scans.py [--seconds 5] [--connections 32] [--workers 4]
        [--db sqlite,postgres] [--postgres-url URL] [--profile]

``--profile`` instead runs 400 scans in-process under cProfile and prints where the time
goes per request. Keep runs short on a shared machine (a few seconds each).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# -- the bare endpoint (gunicorn imports this module: bench_scans:bare_app()) -------------

def bare_app():
    """One INSERT per request into the same kind of database, nothing else."""
    from flask import Flask, jsonify, request
    from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event

    url = os.environ["BENCH_DATABASE_URL"]
    engine = create_engine(url, pool_pre_ping=False)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
    meta = MetaData()
    table = Table("bare_scans", meta, Column("id", Integer, primary_key=True),
                  Column("nonce", String(64), unique=True), Column("body", Text))
    app = Flask("bare")

    @app.get("/api/v1/ping")
    def ping():
        return jsonify(ok=True)

    @app.post("/api/v1/scans")
    def scans():
        data = request.get_json()
        with engine.begin() as conn:
            row = conn.execute(table.insert().values(nonce=data["nonce"],
                                                     body=json.dumps(data))).inserted_primary_key
        return jsonify(scan_id=row[0], reason="OK")

    return app


# -- load generator -------------------------------------------------------------------------

def _client(port, headers, tokens, deadline, warmup_end, out_q, seed):
    rnd = random.Random(seed)
    lat, ok_nonces, failed = [], [], 0
    while time.monotonic() < deadline:
        nonce = uuid.uuid4().hex
        body = json.dumps({"nonce": nonce, "token": rnd.choice(tokens),
                           "direction": rnd.choice(("in", "out")),
                           "scanned_at": datetime.now(timezone.utc).isoformat()})
        t0 = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/api/v1/scans", body, headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            good = resp.status == 200 and b'"scan_id"' in data
        except Exception:  # a refused or reset connection counts as a failure
            good = False
        t1 = time.monotonic()
        if t0 >= warmup_end:
            lat.append(t1 - t0)
        if good:
            ok_nonces.append(nonce)
        else:
            failed += 1
    out_q.put((lat, ok_nonces, failed))


def _proc(port, headers, tokens, deadline, warmup_end, threads, out_q, seed):
    q = []
    lock = threading.Lock()

    class Q:
        def put(self, item):
            with lock:
                q.append(item)

    def guarded(*a):
        try:
            _client(*a)
        except Exception as exc:  # never lose a thread silently
            import traceback
            traceback.print_exc()
            Q().put(([], [], 1))

    ts = [threading.Thread(target=guarded, args=(port, headers, tokens, deadline, warmup_end,
                                                 Q(), seed * 100 + i)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat = [x for item in q for x in item[0]]
    nonces = [x for item in q for x in item[1]]
    out_q.put((lat, nonces, sum(item[2] for item in q)))


def load(port, token_header, tokens, seconds, connections, warmup=2.0):
    procs = min(4, connections)
    per = [connections // procs + (i < connections % procs) for i in range(procs)]
    start = time.monotonic()
    warmup_end, deadline = start + warmup, start + warmup + seconds
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_header}",
               "X-Scanner-Version": "bench", "X-Outbox-Waiting": "0"}
    q = mp.Queue()
    ps = [mp.Process(target=_proc, args=(port, headers, tokens, deadline, warmup_end, n, q, i))
          for i, n in enumerate(per)]
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    nonces = [x for r in results for x in r[1]]
    failed = sum(r[2] for r in results)
    return lat, nonces, failed, seconds


# -- set-up ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, keys_dir: Path, instance: Path, n_passes: int) -> tuple[str, list[str]]:
    """A fresh schema with n passes and one gate device; (device token, card tokens)."""
    os.environ.update(DATABASE_URL=url, KEYS_DIR=str(keys_dir), GATEPASS_INSTANCE=str(instance))
    from app import create_app
    from app.extensions import db
    from app.models import Person
    from app.services import devices, issuing
    from gatepass.tokens import KeyRing

    KeyRing.create_key(keys_dir, "k1")
    app = create_app()
    with app.app_context():
        db.drop_all()
        db.session.execute(db.text("DROP TABLE IF EXISTS bare_scans"))
        db.session.commit()
        db.create_all()
        from app.models import Building, Household
        building = Building(name="3号楼")
        people = [Person(name=f"住户{i}", category="resident", phone=f"1390000{i:04d}",
                         household=Household(building=building, unit="1单元", room=str(100 + i)))
                  for i in range(n_passes)]
        db.session.add_all(people)
        db.session.flush()
        passes = [issuing.issue_pass(p) for p in people]
        _device, token = devices.create_device("东门")
        db.session.commit()
        tokens = [issuing.static_token(p) for p in passes]
        db.engine.dispose()
    return token, tokens


def stored(url: str, table: str, nonces: list[str]) -> tuple[int, int]:
    """(lost, duplicated) among the nonces answered 200."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT nonce, count(*) FROM {table} GROUP BY nonce")).all()
    engine.dispose()
    counts = dict(rows)
    lost = sum(1 for n in nonces if n not in counts)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    return lost, duplicated


def serve(target: str, env: dict, port: int, workers: int, log: Path):
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
           "GUNICORN_ACCESSLOG": "", "PYTHONPATH": f"{ROOT}:{ROOT / 'scripts'}"}
    fh = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                             "--access-logfile", "/dev/null", target], cwd=ROOT, env=env,
                            stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # every worker booted (the app built), not just the socket
        if log.read_text().count("Booting worker") >= workers:
            if _all_workers_answer(port, workers):
                return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {log.read_text()[-2000:]}")


def create_bare_table(url: str, kind: str) -> None:
    from sqlalchemy import create_engine, text
    e = create_engine(url)
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if kind == "sqlite" else "SERIAL PRIMARY KEY"
    with e.begin() as c:
        c.execute(text(f"CREATE TABLE IF NOT EXISTS bare_scans (id {key}, "
                       "nonce VARCHAR(64) UNIQUE, body TEXT)"))
    e.dispose()


def _all_workers_answer(port: int, workers: int) -> bool:
    """A burst of pings all answered quickly: every worker has built its app."""
    times = []

    def ping():
        t = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/ping")
            conn.getresponse().read()
            conn.close()
            times.append(time.monotonic() - t)
        except OSError:
            times.append(99)

    ts = [threading.Thread(target=ping) for _ in range(4 * workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return max(times) < 0.5


def report(name, lat, nonces, failed, seconds, lost, dup) -> dict:
    rate = len([x for x in lat]) / seconds
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan")
    print(f"  {name:8} {rate:8.0f} scans/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
          f"failed {failed}   lost {lost}   duplicated {dup}", flush=True)
    return {"rate": rate, "p50": p50, "p99": p99, "failed": failed, "lost": lost, "dup": dup}


def bench_backend(kind: str, url: str, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    token, tokens = prepare(url, tmp / "keys", tmp / "instance", args.passes)
    env = {**os.environ, "DATABASE_URL": url, "KEYS_DIR": str(tmp / "keys"),
           "GATEPASS_INSTANCE": str(tmp / "instance"), "BENCH_DATABASE_URL": url}
    print(f"{kind}: {args.workers} gunicorn sync workers, {args.connections} connections, "
          f"{args.seconds:g} s each ({os.cpu_count()} cores)", flush=True)
    out = {}
    runs = [("service", "app:create_app()", "scans"), ("bare", "bench_scans:bare_app()", "bare_scans")]
    for rnd in range(args.rounds):  # alternate, so a burst of load elsewhere hits both alike
        for name, target, table in runs:
            port = free_port()
            proc = serve(target, env, port, args.workers, tmp / f"{name}.log")
            try:
                if name == "bare" and rnd == 0:
                    create_bare_table(url, kind)
                lat, nonces, failed, seconds = load(port, token, tokens, args.seconds,
                                                    args.connections)
            finally:
                proc.terminate()
                proc.wait(15)
            lost, dup = stored(url, table, nonces)
            if not lat:
                print(f"  ({name}: no answer in the measured window; {len(nonces)} answered, "
                      f"{failed} failed; see {tmp / (name + '.log')})")
            result = report(f"{name}", lat, nonces, failed, seconds, lost, dup)
            if name not in out or result["rate"] > out[name]["rate"]:
                out[name] = result
    if args.rounds > 1:
        print("  best of each:")
        for name in ("service", "bare"):
            r = out[name]
            print(f"  {name:8} {r['rate']:8.0f} scans/s   p50 {r['p50']:6.1f} ms   "
                  f"p99 {r['p99']:6.1f} ms")
    ratio = out["service"]["rate"] / out["bare"]["rate"] if out["bare"]["rate"] else 0
    print(f"  service / bare = {ratio:.2f}", flush=True)


def profile(args) -> None:
    import cProfile
    import pstats

    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    url = args.postgres_url if args.profile_db == "postgres" else f"sqlite:///{tmp / 'p.db'}"
    token, tokens = prepare(url, tmp / "keys", tmp / "instance", args.passes)
    from app import create_app
    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def run(n):
        for i in range(n):
            client.post("/api/v1/scans", headers=headers, json={
                "nonce": uuid.uuid4().hex, "token": tokens[i % len(tokens)],
                "direction": "in" if i % 2 else "out",
                "scanned_at": datetime.now(timezone.utc).isoformat()})

    run(50)
    from collections import Counter

    from sqlalchemy import event
    from app.extensions import db
    statements = Counter()
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, params, context, executemany):
        statements[" ".join(statement.split())[:90]] += 1

    run(100)
    event.remove(engine, "before_cursor_execute", _count)
    print(f"SQL statements per scan: {sum(statements.values()) / 100:.1f}")
    for text, n in statements.most_common(12):
        print(f"  {n / 100:5.2f}  {text}")
    import os as _os
    stats = {"n": 0}
    real_stat = _os.stat

    def counting_stat(*a, **kw):
        stats["n"] += 1
        return real_stat(*a, **kw)

    _os.stat = counting_stat
    run(100)
    _os.stat = real_stat
    print(f"os.stat calls per scan: {stats['n'] / 100:.1f}")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    run(400)
    prof.disable()
    print(f"{(time.perf_counter() - t) / 400 * 1000:.2f} ms per scan in-process ({args.profile_db})")
    pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
        os.environ.get("BENCH_FILTER", "gatepass|/app/|flask|werkzeug|json"), 40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--passes", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=2, help="alternate service/bare this often")
    ap.add_argument("--db", default="sqlite,postgres")
    ap.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL")
                    or os.environ.get("TEST_POSTGRES_URL"))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-db", default="sqlite", choices=("sqlite", "postgres"))
    args = ap.parse_args()
    if args.profile:
        return profile(args)
    for kind in args.db.split(","):
        if kind == "postgres":
            if not args.postgres_url:
                print("postgres: skipped (no --postgres-url / TEST_POSTGRES_URL)")
                continue
            bench_backend(kind, args.postgres_url, args)
        else:
            bench_backend(kind, "", args)


if __name__ == "__main__":
    main()
