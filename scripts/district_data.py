"""A sub-district's history generated in SQL, for ``scripts/bench_district.py``.

Everything is ``INSERT ... SELECT`` over ``generate_series`` on the server (10 million scans
through the API would take a day): N communities (``c1`` is the one ``init-db`` made), each
with the same shape, so a database of one community is one community of the large one:

  per community  30 buildings, 1,500 households, 4,450 people, 550 vehicles, 5,000 passes
                 (3 % suspended, 2 % revoked, 0.5 % of people in home quarantine), 2 gates
                 with one device each, and ``scans_each`` scans over the last 30 days
                 (93 % allowed; a fifth with a temperature).

Ids are explicit (community n's rows are a block of ids), so every row can name its
community's rows without a lookup. The table's columns are read from the app's models: a
column the tenancy schema adds (``community_id``) is filled from the block; a NOT NULL
column this file does not know stops the run with its name rather than a bulk error.
The tables' indexes, unique constraints and foreign keys are dropped for the load and made
again after it (a foreign key added afterwards is checked by one join, not a lookup per
row), and the owner loads with row-level security not forced (the policy's check parses the
id list once per row), forced again before the transaction commits.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

BUILDINGS, HOUSEHOLDS, PEOPLE, VEHICLES = 30, 1500, 4450, 550
PASSES = PEOPLE + VEHICLES
GATES = ("东门", "北门")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁龙林欣瑶佳怡子涵梓萱浩然雨轩思远晨阳诗琪博文嘉怡一诺"
DENIALS = ("ALREADY_INSIDE", "ALREADY_OUTSIDE", "SUSPENDED", "REVOKED", "OUTSIDE_HOURS",
           "BAD_SIGNATURE", "SUPERSEDED", "FEVER")


#: Loaded bare, their indexes and keys made after (``_without_indexes``); children first.
BARE_TABLES = ("scans", "passes", "gate_devices", "gates", "vehicles", "people",
               "households", "buildings")


@dataclass
class Size:
    communities: int
    scans_each: int  # per community, over 30 days


def _columns(conn, table: str) -> dict[str, tuple[bool, bool]]:
    """name -> (not null, has a server default) as the database has the table."""
    rows = conn.execute(text(
        "select column_name, is_nullable = 'NO', column_default is not null "
        "from information_schema.columns where table_name = :t"), {"t": table}).all()
    return {name: (nn, default) for name, nn, default in rows}


def insert_select(conn, table: str, values: dict[str, str], source: str) -> int:
    """``INSERT INTO table (cols) SELECT values FROM source``; ``community_id`` added when
    the table has it (``c.community_id``: every source names the community ``c``)."""
    cols = _columns(conn, table)
    values = dict(values)
    if "community_id" in cols:
        values.setdefault("community_id", "c.community_id")
    missing = [n for n, (nn, default) in cols.items() if nn and not default and n not in values]
    if missing:
        raise SystemExit(f"{table}: NOT NULL columns this generator does not fill: {missing}")
    names = ", ".join(values)
    exprs = ", ".join(f"{v} AS {k}" for k, v in values.items())
    return conn.execute(text(f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {source}")).rowcount


def _communities(conn, n: int) -> None:
    """Communities c2..cN beside the one init-db made, and ``bench_c``: block number
    (1..N) -> community id. Without a ``communities`` table (the schema before issue 18)
    only one community can be generated."""
    conn.execute(text("DROP TABLE IF EXISTS bench_c"))
    conn.execute(text("CREATE TABLE bench_c (n int PRIMARY KEY, community_id int)"))
    has_table = conn.execute(text("select to_regclass('communities') is not null")).scalar()
    if not has_table:
        if n != 1:
            raise SystemExit("this schema has no communities table: only --communities 1")
        conn.execute(text("INSERT INTO bench_c VALUES (1, 0)"))
        return
    first = conn.execute(text("select id, subdistrict from communities where kind = 'community' "
                              "order by id limit 1")).one()
    conn.execute(text(
        "INSERT INTO communities (code, name, subdistrict, kind, created_at) "
        "SELECT 'c' || g, '第' || g || '社区', :sd, 'community', now() "
        "FROM generate_series(2, :n) g ON CONFLICT (code) DO NOTHING"),
        {"sd": first.subdistrict, "n": n})
    conn.execute(text(
        "INSERT INTO bench_c SELECT row_number() OVER (ORDER BY id), id FROM communities "
        "WHERE kind = 'community' ORDER BY id LIMIT :n"), {"n": n})
    ids = ",".join(str(i) for i in conn.execute(text("select id from communities")).scalars())
    conn.execute(text("select set_config('app.community_ids', :ids, false)"), {"ids": ids})


def _homes(conn) -> None:
    """Buildings, households, people (a household of ~3; the rest staff and workers with
    no home here), vehicles. Block ``b`` of community n starts at (n - 1) * per + 1."""
    insert_select(conn, "buildings", {"id": f"(c.n - 1) * {BUILDINGS} + b", "name": "b || '号楼'"},
                  f"bench_c c, generate_series(1, {BUILDINGS}) b")
    insert_select(conn, "households", {
        "id": f"(c.n - 1) * {HOUSEHOLDS} + h",
        "building_id": f"(c.n - 1) * {BUILDINGS} + 1 + (h - 1) % {BUILDINGS}",
        # the j-th home of its building (j = (h - 1) / BUILDINGS): unit 1-3, floors upward
        "unit": f"(1 + ((h - 1) / {BUILDINGS}) % 3) || '单元'",
        "room": f"(100 * (1 + (h - 1) / {BUILDINGS} / 3) + 1)::text",
        "note": "''", "link_version": "1"}, f"bench_c c, generate_series(1, {HOUSEHOLDS}) h")
    # 85 % residents, 5 % tenants with a household; the rest work here (no household).
    category = ("CASE WHEN i % 20 < 17 THEN 'resident' WHEN i % 20 = 17 THEN 'tenant' "
                "ELSE (ARRAY['sanitation','staff','courier'])[1 + i % 3] END")
    insert_select(conn, "people", {
        "id": f"(c.n - 1) * {PEOPLE} + i",
        "household_id": f"CASE WHEN i % 20 < 18 THEN (c.n - 1) * {HOUSEHOLDS} + 1 + i % {HOUSEHOLDS} END",
        "name": f"substr('{SURNAMES}', 1 + (i * 7 + c.n) % {len(SURNAMES)}, 1) || "
                f"substr('{GIVEN}', 1 + (i * 13) % {len(GIVEN)}, 1 + i % 2)",
        "phone": f"'1' || lpad(((c.n - 1) * {PEOPLE} + i)::text, 10, '0')",
        "category": category, "id_card_masked": "'1101**********' || lpad((i % 10000)::text, 4, '0')",
        "employer": "CASE WHEN i % 20 >= 18 THEN '物业公司' ELSE '' END", "is_returnee": "i % 50 = 0",
        "quarantine_until": "CASE WHEN i % 200 = 0 THEN now() + interval '5 days' END",
        "created_at": "now() - interval '60 days'"},
        f"bench_c c, generate_series(1, {PEOPLE}) i")
    insert_select(conn, "vehicles", {
        "id": f"(c.n - 1) * {VEHICLES} + v",
        "plate": f"'京A' || lpad(((c.n - 1) * {VEHICLES} + v)::text, 6, '0')",
        "kind": "'own'", "household_id": f"(c.n - 1) * {HOUSEHOLDS} + 1 + (v * 3) % {HOUSEHOLDS}"},
        f"bench_c c, generate_series(1, {VEHICLES}) v")


def _passes_and_gates(conn) -> None:
    """One pass per person and vehicle (ids in the same block order), two gates, a device
    at each whose token is ``bench-device-<device id>``."""
    person = f"CASE WHEN k <= {PEOPLE} THEN (c.n - 1) * {PEOPLE} + k END"
    vehicle = f"CASE WHEN k > {PEOPLE} THEN (c.n - 1) * {VEHICLES} + k - {PEOPLE} END"
    insert_select(conn, "passes", {
        "id": f"(c.n - 1) * {PASSES} + k", "person_id": person, "vehicle_id": vehicle,
        "category": f"CASE WHEN k > {PEOPLE} THEN 'vehicle' WHEN k % 20 < 17 THEN 'resident' "
                    "WHEN k % 20 = 17 THEN 'tenant' "
                    "ELSE (ARRAY['sanitation','staff','courier'])[1 + k % 3] END",
        "serial": "1 + (k % 40 = 0)::int",
        "status": "CASE WHEN k % 100 < 3 THEN 'suspended' WHEN k % 100 < 5 THEN 'revoked' "
                  "ELSE 'active' END",
        "valid_from": "now() - interval '90 days'",
        "valid_until": "CASE WHEN k % 20 >= 18 THEN now() + interval '60 days' END",
        "issued_at": "now() - interval '90 days'", "updated_at": "now() - interval '1 day' * (k % 90)",
        "link_version": "1", "inside": "k % 7 <> 0",
        "last_scan_at": "now() - interval '1 minute' * (k % 3000)",
        "printed_kid": "NULL"}, f"bench_c c, generate_series(1, {PASSES}) k")
    insert_select(conn, "gates", {"id": f"(c.n - 1) * {len(GATES)} + g",
                                  "name": f"(ARRAY{list(GATES)})[g]"},
                  f"bench_c c, generate_series(1, {len(GATES)}) g")
    insert_select(conn, "gate_devices", {
        "id": f"(c.n - 1) * {len(GATES)} + g", "gate_id": f"(c.n - 1) * {len(GATES)} + g",
        "name": "'bench ' || g", "active": "true", "created_at": "now()",
        "token_hash": f"encode(sha256(('bench-device-' || ((c.n - 1) * {len(GATES)} + g))::bytea), 'hex')"},
        f"bench_c c, generate_series(1, {len(GATES)}) g")


def _scans(conn, each: int) -> None:
    """``each`` scans per community over the last 30 days, in one statement."""
    gate = f"(c.n - 1) * {len(GATES)} + 1 + s % {len(GATES)}"
    denied = f"(ARRAY{list(DENIALS)})[1 + (s / 15) % {len(DENIALS)}]"
    insert_select(conn, "scans", {
        "nonce": "md5(c.n || '-' || s)", "request_hash": "''",
        "device_id": gate, "gate_id": gate,
        "pass_id": f"(c.n - 1) * {PASSES} + 1 + (s * 7919) % {PASSES}",
        "direction": "CASE WHEN s % 2 = 0 THEN 'out' ELSE 'in' END",
        "scanned_at": f"now() - interval '30 days' * (s::float8 / {each})",
        "received_at": f"now() - interval '30 days' * (s::float8 / {each})",
        "allowed": "s % 15 <> 0", "reason": f"CASE WHEN s % 15 <> 0 THEN 'OK' ELSE {denied} END",
        "raw_text": "CASE WHEN s % 15 <> 0 THEN '' ELSE 'GP1.x' END",
        "temperature": "CASE WHEN s % 5 = 0 THEN 36.0 + (s % 12) / 10.0 END",
        "response": "'{}'::json"},
        f"bench_c c, generate_series(1, {each}) s")


def _without_indexes(conn, tables: tuple[str, ...]):
    """Drop the tables' foreign keys, unique constraints and secondary indexes (primary keys
    stay), and return a function that makes them again: a bulk load into a bare table and
    one index build after is several times faster than maintaining them row by row (and a
    foreign key added afterwards is checked by one join, not a lookup per row)."""
    saved = []
    for table in tables:
        cons = conn.execute(text(
            "select conname, contype, pg_get_constraintdef(oid) from pg_constraint "
            "where conrelid = cast(:t as regclass) and contype in ('f', 'u')"), {"t": table}).all()
        idx = conn.execute(text(
            "select indexname, indexdef from pg_indexes where tablename = :t and indexname "
            "not in (select conname from pg_constraint where conrelid = cast(:t as regclass))"),
            {"t": table}).all()
        forced = conn.execute(text("select relforcerowsecurity from pg_class "
                                   "where oid = cast(:t as regclass)"), {"t": table}).scalar()
        if forced:  # the owner loads past RLS (a policy check per row parses the id list)
            conn.execute(text(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
        for name, _kind, _definition in cons:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _definition in idx:
            conn.execute(text(f'DROP INDEX "{name}"'))
        saved.append((table, cons, idx, forced))

    def rebuild():
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for table, cons, idx, forced in saved:
            for name, kind, definition in sorted(cons, key=lambda c: c[1] == "f"):
                conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
            for _name, definition in idx:
                conn.execute(text(definition))
            if forced:
                conn.execute(text(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
    return rebuild


def _fix_sequences(conn) -> None:
    for table in ("buildings", "households", "people", "vehicles", "passes", "gates",
                  "gate_devices", "scans"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def generate(engine, size: Size, log=print) -> float:
    """Fill the (empty, initialised) database at ``engine``; returns seconds taken."""
    t0 = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("SET synchronous_commit = off"))
        _communities(conn, size.communities)
        rebuild = _without_indexes(conn, BARE_TABLES)
        _homes(conn)
        _passes_and_gates(conn)
        log(f"  homes, people, passes, gates: {time.monotonic() - t0:.0f} s")
        _scans(conn, size.scans_each)
        log(f"  {size.scans_each * size.communities:,} scans: {time.monotonic() - t0:.0f} s")
        rebuild()
        _fix_sequences(conn)
        conn.execute(text("DROP TABLE bench_c"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    log(f"  indexes and ANALYZE: {time.monotonic() - t0:.0f} s")
    return time.monotonic() - t0

