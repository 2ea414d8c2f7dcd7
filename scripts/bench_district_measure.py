"""The measuring half of ``scripts/bench_district.py``: two apps (district, one), requests
alternating between them, medians and percentiles, and the printed table."""
from __future__ import annotations

import random
import statistics
import time
import uuid
from contextlib import nullcontext
from datetime import datetime, timezone

from sqlalchemy import text

PASSWORD = "bench-" + "pw" * 6
ROLES = ("office", "health", "admin", "guard")
#: Pages with a query string, besides every plain GET page (names from district_data).
SEARCHES = ["/office/scans?q=王伟", "/office/scans?page=20", "/office/scans?verdict=denied",
            "/office/people?q=王", "/office/people?q=13", "/office/passes?status=suspended",
            "/office/passes/1", "/office/people/1"]
#: Not measured: they print (PDF of every card) or change something on GET.
SKIP = ("/office/print", "/office/logout")


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def scoped(community_id: int | None):
    """The tenancy scope of one community, when the schema has communities."""
    if community_id is None:
        return nullcontext()
    from app.tenancy import use_scope
    return use_scope(frozenset({community_id}), community_id)


class Side:
    """One database: its app, c1's id, logged-in clients per role, pass tokens, a device."""

    def __init__(self, name: str, app):
        self.name, self.app = name, app
        with app.app_context():
            self.community_id = self._first_community()
            self._users()
            self.tokens = self._tokens()
        self.clients = {role: self._login(role) for role in self.roles}
        self.device = {"Authorization": "Bearer bench-device-1"}

    def _first_community(self) -> int | None:
        from app.extensions import db
        has = db.session.execute(text("select to_regclass('communities') is not null")).scalar()
        if not has:
            return None
        return db.session.execute(text(
            "select id from communities where kind = 'community' order by id limit 1")).scalar()

    def _users(self) -> None:
        from app.extensions import db
        from app.models import User
        from gatepass.roles import Role
        self.roles = list(ROLES) + (["district"] if "district" in {r.value for r in Role} else [])
        for role in self.roles:
            name = f"bench-{role}"
            if db.session.scalar(db.select(User).where(User.username == name)):
                continue
            u = User(username=name, role=role, display_name=name)
            u.set_password(PASSWORD)
            if role == "district":
                u.subdistrict = db.session.execute(text(
                    "select subdistrict from communities where id = :c"),
                    {"c": self.community_id}).scalar()
            elif self.community_id is not None and hasattr(User, "community_id"):
                u.community_id = self.community_id
            db.session.add(u)
        db.session.commit()

    def _tokens(self) -> list[str]:
        from app.extensions import db
        from app.models import Pass
        from app.services import issuing
        with scoped(self.community_id):
            passes = db.session.scalars(db.select(Pass).where(Pass.status == "active")
                                        .order_by(Pass.id).limit(400)).all()
            return [issuing.static_token(p) for p in passes]

    def _login(self, role: str):
        client = self.app.test_client()
        r = client.post("/login", data={"username": f"bench-{role}", "password": PASSWORD})
        if r.status_code != 302:
            raise SystemExit(f"{self.name}: bench-{role} could not log in ({r.status_code})")
        return client

    def get(self, role: str, url: str, headers=None) -> tuple[float, int, int]:
        """(milliseconds, status, bytes) of one GET, the body read to its end."""
        client = self.clients[role] if role else self.app.test_client()
        t0 = time.perf_counter()
        r = client.get(url, headers=headers or {}, buffered=False)
        size = sum(len(chunk) for chunk in r.response)
        r.close()
        return (time.perf_counter() - t0) * 1000, r.status_code, size

    def scan(self, rng: random.Random) -> float:
        body = {"nonce": uuid.uuid4().hex, "token": rng.choice(self.tokens),
                "direction": rng.choice(("in", "out")),
                "scanned_at": datetime.now(timezone.utc).isoformat()}
        t0 = time.perf_counter()
        r = self.app.test_client().post("/api/v1/scans", json=body, headers=self.device)
        if r.status_code != 200:
            raise SystemExit(f"{self.name}: scan answered {r.status_code}: {r.get_data()[:200]}")
        return (time.perf_counter() - t0) * 1000


class Bench:
    def __init__(self, apps: dict, repeat: int = 9, scan_seconds: float = 4.0):
        self.sides = {name: Side(name, app) for name, app in apps.items()}
        self.repeat, self.scan_seconds = repeat, scan_seconds

    def _alternate(self, measure, slow_ms: float = 3000, slow_repeat: int = 3) -> dict[str, list]:
        """``measure(side)`` ``repeat`` times per side, the order swapped every round; only
        ``slow_repeat`` times when the first round took over ``slow_ms``, once over a minute
        (a full-size XLSX export: nine of each would be the whole run)."""
        out = {name: [] for name in self.sides}
        names = list(self.sides)
        repeat = self.repeat
        for i in range(self.repeat):
            if i == repeat:
                break
            for name in (names if i % 2 == 0 else names[::-1]):
                out[name].append(measure(self.sides[name]))
            first = min((out[n][0][0] for n in names if isinstance(out[n][0], tuple)),
                        default=0)
            if i == 0 and first > slow_ms:
                repeat = min(repeat, slow_repeat if first < 20 * slow_ms else 1)
        return out

    def scans(self, rounds: int = 3) -> dict:
        """In-process scans for ``scan_seconds`` per side and round, sides alternating."""
        lat = {name: [] for name in self.sides}
        spent = {name: 0.0 for name in self.sides}
        rng = random.Random(7)
        for _ in range(rounds):
            for name, side in self.sides.items():
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < self.scan_seconds / rounds:
                    lat[name].append(side.scan(rng))
                spent[name] += time.perf_counter() - t0
        return {name: {"per_s": round(len(lat[name]) / spent[name], 1),
                       "p50_ms": round(_p(lat[name], 0.5), 2),
                       "p99_ms": round(_p(lat[name], 0.99), 2), "n": len(lat[name])}
                for name in self.sides}

    def scans_gunicorn(self, env: dict, rounds: int = 2, seconds: float = 4.0,
                       connections: int = 32, workers: int = 4) -> dict:
        """The scan API under gunicorn (``gunicorn.conf.py``) with ``bench_scans``' load
        generator, one server per database, rounds alternating; the best round of each."""
        import tempfile
        from pathlib import Path
        import bench_scans
        servers, best = {}, {}
        logs = Path(tempfile.mkdtemp(prefix="bench-district-gunicorn-"))
        try:
            for name, side in self.sides.items():
                port = bench_scans.free_port()
                url = side.app.config["SQLALCHEMY_DATABASE_URI"]
                servers[name] = (port, bench_scans.serve(
                    "app:create_app()", {**env, "DATABASE_URL": url}, port, workers,
                    logs / f"{name}.log"))
            for _ in range(rounds):
                for name, side in self.sides.items():
                    lat, _nonces, failed, secs = bench_scans.load(
                        servers[name][0], "bench-device-1", side.tokens, seconds, connections)
                    rate = len(lat) / secs
                    if rate > best.get(name, {}).get("per_s", 0):
                        best[name] = {"per_s": round(rate), "failed": failed,
                                      "p50_ms": round(_p(lat, 0.5) * 1000, 1),
                                      "p99_ms": round(_p(lat, 0.99) * 1000, 1)}
        finally:
            for _port, proc in servers.values():
                proc.terminate()
                proc.wait(timeout=30)
        return best

    def page_list(self) -> list[tuple[str, str]]:
        """(role, url) of every plain GET page under /office/ and the searches, each with
        the first role that may open it (on the one-community side)."""
        side = self.sides["one"]
        urls = sorted({r.rule for r in side.app.url_map.iter_rules()
                       if r.rule.startswith("/office/") and "GET" in r.methods
                       and not r.arguments and not r.rule.startswith(SKIP)})
        pages = []
        for url in urls + SEARCHES:
            for role in side.roles:
                if role == "district":
                    continue
                _ms, status, _size = side.get(role, url)
                if status == 200:
                    pages.append((role, url))
                    break
        return pages

    def pages(self, only: list[str] | None = None) -> list[dict]:
        rows = []
        for role, url in self.page_list():
            if only and url not in only:
                continue
            got = self._alternate(lambda side: side.get(role, url))
            row = {"url": url, "role": role, "n": len(got["one"])}
            for name, runs in got.items():
                row[name] = round(statistics.median(ms for ms, _s, _b in runs), 1)
                row[name + "_kb"] = round(runs[-1][2] / 1024)
                row[name + "_status"] = runs[-1][1]
            row["ratio"] = round(row["district"] / max(row["one"], 0.1), 2)
            rows.append(row)
            print(f"  {url:48} {row['district']:9.1f} {row['one']:9.1f} ms  x{row['ratio']}",
                  flush=True)
        return rows

    def district(self, n: int = 20) -> dict | None:
        side = self.sides["district"]
        if "/district/" not in {r.rule for r in side.app.url_map.iter_rules()}:
            return None
        out = {}
        for name, s in self.sides.items():
            runs = [s.get("district", "/district/") for _ in range(n)]
            out[name] = {"p95_ms": round(_p([ms for ms, _s, _b in runs], 0.95), 1),
                         "median_ms": round(statistics.median(ms for ms, _s, _b in runs), 1),
                         "status": runs[-1][1], "kb": round(runs[-1][2] / 1024)}
        return out

    def snapshot(self) -> dict:
        url = "/api/v1/gate/snapshot"
        full = self._alternate(lambda side: side.get(None, url, side.device))
        etags = {}
        for name, side in self.sides.items():
            r = side.app.test_client().get(url, headers=side.device)
            etags[name] = r.headers["ETag"]
        again = self._alternate(lambda side: side.get(
            None, url, {**side.device, "If-None-Match": etags[side.name]}))
        return {name: {"full_ms": round(statistics.median(m for m, _s, _b in full[name]), 1),
                       "kb": round(full[name][-1][2] / 1024),
                       "not_modified_ms": round(statistics.median(m for m, _s, _b in again[name]), 1),
                       "status_304": again[name][-1][1]} for name in self.sides}

    def run_pages(self, only: list[str]) -> dict:
        """Only these pages (a re-measure after an index was added)."""
        return {"pages": self.pages(only)}

    def run(self, env: dict | None = None) -> dict:
        print("scan API in-process ...", flush=True)
        results = {"scans": self.scans()}
        if env is not None:
            print("scan API under gunicorn ...", flush=True)
            results["scans_gunicorn"] = self.scans_gunicorn(env)
        print("snapshot ...", flush=True)
        results["snapshot"] = self.snapshot()
        print("/district/ ...", flush=True)
        results["district_page"] = self.district()
        print("RLS on/off ...", flush=True)
        results["rls"] = {name: rls_cost(side, self.repeat) for name, side in self.sides.items()}
        print("pages (median of %d, district / one) ..." % self.repeat, flush=True)
        results["pages"] = self.pages()
        return results


# -- row-level security on and off -----------------------------------------------------------

RLS_QUERIES = {
    "scan log page": "SELECT * FROM scans {where} ORDER BY scanned_at DESC, id DESC LIMIT 50",
    "scans today by gate": "SELECT gate_id, count(*) FROM scans {where} "
                           "AND scanned_at >= now() - interval '1 day' GROUP BY gate_id",
    "snapshot passes": "SELECT id, serial, status, category, valid_from, valid_until, person_id "
                       "FROM passes {where}",
    "count scans": "SELECT count(*) FROM scans {where}",
}
RLS_TABLES = ("scans", "passes")


def rls_cost(side: Side, repeat: int) -> dict:
    """Each query as the service's role, scoped to c1 as the app scopes it (the app's own
    ``community_id = ANY`` criterion in the SQL too), with the policies and with them
    disabled for the transaction (owner's ``ALTER TABLE``, rolled back)."""
    from app.extensions import db
    if side.community_id is None:
        return {"skipped": "no communities table"}
    ids = str(side.community_id)
    where = f"WHERE community_id IN ({ids})"  # as with_loader_criteria renders it
    out = {}
    with side.app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            role = conn.execute(text("select rolsuper, rolbypassrls from pg_roles "
                                     "where rolname = current_user")).one()
        out["role"] = {"superuser": role[0], "bypassrls": role[1]}
        for label, sql in RLS_QUERIES.items():
            sql = sql.format(where=where)
            times = {"on": [], "off": []}
            for i in range(repeat):
                for mode in (("on", "off") if i % 2 == 0 else ("off", "on")):
                    times[mode].append(_timed(engine, sql, ids, mode == "off"))
            out[label] = {m: round(statistics.median(v), 2) for m, v in times.items()}
    return out


def _timed(engine, sql: str, ids: str, disable: bool) -> float:
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(text("select set_config('app.community_ids', :ids, true)"), {"ids": ids})
            if disable:
                for table in RLS_TABLES:
                    conn.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
            t0 = time.perf_counter()
            conn.execute(text(sql)).fetchall()
            return (time.perf_counter() - t0) * 1000
        finally:
            trans.rollback()


# -- the table -----------------------------------------------------------------------------

def print_table(r: dict) -> None:
    m = r["meta"]
    print(f"\n{m['communities']} communities x {m['scans_each']:,} scans "
          f"(district {m['size'].get('district')}, one {m['size'].get('one')}; "
          f"generated in {m['generated_s']} s; load average {m['load_before'][0]:.1f} before, "
          f"{m['load_after'][0]:.1f} after)\n")
    print("| measured | district | one community | ratio |\n|---|---|---|---|")
    s = r["scans"]
    print(f"| scan API in-process, scans/s (p99) | {s['district']['per_s']} "
          f"({s['district']['p99_ms']} ms) | {s['one']['per_s']} ({s['one']['p99_ms']} ms) | "
          f"{s['district']['per_s'] / s['one']['per_s']:.2f} |")
    g = r.get("scans_gunicorn")
    if g:
        print(f"| scan API, gunicorn 4 workers, 32 conns: scans/s (p99) | {g['district']['per_s']} "
              f"({g['district']['p99_ms']} ms) | {g['one']['per_s']} ({g['one']['p99_ms']} ms) | "
              f"{g['district']['per_s'] / g['one']['per_s']:.2f} |")
    snap = r["snapshot"]
    print(f"| gate snapshot 200 / 304 | {snap['district']['full_ms']} / "
          f"{snap['district']['not_modified_ms']} ms ({snap['district']['kb']} KB) | "
          f"{snap['one']['full_ms']} / {snap['one']['not_modified_ms']} ms | |")
    d = r["district_page"]
    if d:
        print(f"| /district/ p95 (median) | {d['district']['p95_ms']} ({d['district']['median_ms']}) ms "
              f"| {d['one']['p95_ms']} ({d['one']['median_ms']}) ms | |")
    else:
        print("| /district/ | not in this build | | |")
    for label in RLS_QUERIES:
        on = r["rls"]["district"].get(label)
        if on:
            print(f"| RLS on / off: {label} | {on['on']} / {on['off']} ms | | |")
    for row in r["pages"]:
        n = "" if row.get("n", 9) >= 9 else f" (n={row['n']})"
        print(f"| {row['url']} ({row['role']}){n} | {row['district']} ms | {row['one']} ms | "
              f"{row['ratio']} |")
    worst = max(r["pages"], key=lambda row: row["ratio"]) if r["pages"] else None
    if worst:
        print(f"\nworst page ratio: {worst['ratio']} ({worst['url']}); role "
              f"{r['rls']['district'].get('role')}")
