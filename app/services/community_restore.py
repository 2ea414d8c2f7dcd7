"""Put a community backup (``services.community_backup``) into the configured database.

All or nothing, in one transaction, rows keeping their ids where they are free, so one
file serves three cases:
- the same database, the community lost or damaged (``--force`` first deletes its rows),
  or removed (``communities remove``);
- a fresh database: ``init-db`` made it with an empty default community, which makes way,
  so the community moves out to a database of its own;
- another sub-district's database.
A row whose id is taken here (SQLite hands the highest ids of deleted rows out again;
another database has its own) gets a new id above every existing one, and every row of
the backup that names it follows (``renumbered`` counts them). Logins are matched by id
and name: the same login is kept as it is, a name taken by another login is refused.

A reference to a row the file does not hold and this database lacks (a scan of a
sub-district-wide pass whose holder stays with the sub-district) becomes NULL where the
column allows it, counted in ``detached``; else the restore is refused. A reference to a
row the file does not hold but this database does (by id) is kept: right in the database
the backup came from, which is the case such rows exist for.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, delete, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .community_backup import (BATCH, FORMAT, MERGED, META_TABLE, CommunityBackupError,
                               is_community_backup, owned, revision, tables)


@dataclass
class RestoreResult:
    code: str
    counts: dict[str, int] = field(default_factory=dict)
    detached: dict[str, int] = field(default_factory=dict)  # "scans.pass_id" -> rows set NULL
    renumbered: dict[str, int] = field(default_factory=dict)  # table -> rows given a new id
    replaced_empty: str = ""  # code of the empty default community that made way, if any


def restore_community(src: str | os.PathLike, force: bool = False) -> RestoreResult:
    """Insert the community backup ``src`` into the configured database, all or nothing."""
    if not is_community_backup(src):
        raise CommunityBackupError("NOT_A_BACKUP", f"{Path(src).name} 不是社区备份",
                                   f"{Path(src).name} is not a community backup")
    with tempfile.TemporaryDirectory() as tmp:  # read a copy: opening a file may change it
        copy = Path(tmp) / "community.backup"
        shutil.copyfile(src, copy)
        engine = create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as backup:
                info = dict(backup.execute(text(f"SELECT key, value FROM {META_TABLE}")).all())
                if info.get("format") != FORMAT:
                    raise CommunityBackupError("FORMAT", f"未知的备份格式 {info.get('format')}",
                                               f"unknown backup format {info.get('format')}")
                _ensure_schema()
                result = _restore(backup, info, force)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
        finally:
            engine.dispose()


def _ensure_schema() -> None:
    """A database without tables gets the schema first, as ``init-db`` makes it."""
    if not inspect(db.engine).has_table("communities"):
        from flask_migrate import upgrade
        upgrade()
        db.session.remove()


def _restore(backup, info: dict, force: bool) -> RestoreResult:
    conn = db.session.connection()
    _same_schema(conn, backup, info)
    result = RestoreResult(info["code"])
    _see_communities(conn)
    target_id, keep = _make_room(conn, info["code"], int(info["community_id"]), force, result)
    _see_communities(conn, target_id)
    held = set(inspect(backup).get_table_names())
    missing = _dangling(conn, backup, held)
    remap: dict[str, dict] = {t.name: {} for t in tables()}
    remap["communities"] = {int(info["community_id"]): target_id}
    for table in tables():
        if table.name not in held:
            continue
        if table.name == "communities":
            _put_community(conn, backup, table, target_id, keep)
            result.counts[table.name] = 1
        else:
            result.counts[table.name] = _insert(conn, backup, table, missing, remap, result)
    _advance_sequences(conn)
    return result


def _same_schema(conn, backup, info: dict) -> None:
    """Every table of the backup with the same columns here: rows go back column for
    column. (The schema revision says the same where both were made by migrations; a
    database made by ``create_all`` has none, so the columns are compared.)"""
    here, there = inspect(conn), inspect(backup)
    differ = sorted(
        name for name in there.get_table_names() if name != META_TABLE and (
            not here.has_table(name)
            or {c["name"] for c in here.get_columns(name)}
            != {c["name"] for c in there.get_columns(name)}))
    if differ:
        have = revision(conn) or "?"
        raise CommunityBackupError(
            "SCHEMA", f"备份（版本 {info.get('revision') or '?'}）与当前数据库（版本 {have}）"
                      f"的表结构不同：{', '.join(differ[:5])}；请先升级",
            f"the backup (schema {info.get('revision') or '?'}) and this database (schema "
            f"{have}) differ in {', '.join(differ[:5])}: upgrade first")


def _see_communities(conn, also: int | None = None) -> None:
    """PostgreSQL's row-level security shows a transaction only the communities named in
    ``app.community_ids``: a restore must see every row an id could clash with, and write
    the rows of a community that did not exist when the transaction began."""
    if conn.dialect.name != "postgresql":
        return
    table = db.metadata.tables["communities"]
    ids = set(conn.execute(select(table.c.id)).scalars()) | ({also} if also else set())
    conn.execute(text("SELECT set_config('app.community_ids', :ids, true)"),
                 {"ids": ",".join(str(i) for i in sorted(ids))})


def _has_rows(conn, community_id: int) -> bool:
    for table in tables():
        if "community_id" in table.c and (owned(table) or table.name in MERGED):
            if conn.execute(select(table.c.community_id).where(
                    table.c.community_id == community_id).limit(1)).first():
                return True
    return False


def _make_room(conn, code: str, cid: int, force: bool, result: RestoreResult) -> tuple[int, bool]:
    """Clear the way for community ``code``; returns its id here and whether its row stays.

    The same community with data is emptied only with ``force``; an empty one of the same
    code, or the lone empty one a fresh database starts with, is dropped."""
    table = db.metadata.tables["communities"]
    rows = conn.execute(select(table)).mappings().all()
    same = next((r for r in rows if r["code"] == code), None)
    if same is not None and _has_rows(conn, same["id"]):
        if not force:
            raise CommunityBackupError(
                "NOT_EMPTY", f"社区 {code} 已有数据；确认要覆盖请加 --force",
                f"community {code} has data; add --force to replace it")
        for table_ in reversed(tables()):
            if owned(table_):
                conn.execute(delete(table_).where(table_.c.community_id == same["id"]))
        return same["id"], True
    lone = [r for r in rows if r["kind"] == "community"]
    if same is None and len(rows) == 1 and len(lone) == 1 and not _has_rows(conn, lone[0]["id"]):
        same = lone[0]
        result.replaced_empty = same["code"]
    if same is not None:
        conn.execute(delete(table).where(table.c.id == same["id"]))
    ids = set(conn.execute(select(table.c.id)).scalars())
    return (cid if cid not in ids else max(ids | {cid}) + 1), False


def _put_community(conn, backup, table, target_id: int, keep: bool) -> None:
    row = {**backup.execute(select(table)).mappings().one(), "id": target_id}
    if keep:
        conn.execute(table.update().where(table.c.id == target_id).values(
            {k: v for k, v in row.items() if k != "id"}))
    else:
        conn.execute(insert(table), [row])


def _ids(conn, column, values) -> set:
    """Which of ``values`` ``column`` holds, asked in slices (a parameter list has limits)."""
    values, found = sorted(values), set()
    for i in range(0, len(values), 500):
        found.update(conn.execute(select(column).where(column.in_(values[i:i + 500]))).scalars())
    return found


def _dangling(conn, backup, held: set) -> dict[tuple[str, str], set]:
    """(table, column) -> values the column names that neither the backup nor the
    database holds; refused where the column may not be NULL."""
    missing = {}
    for table in tables():
        if table.name not in held:
            continue
        for column in table.c:
            for fk in column.foreign_keys:
                refs = set(backup.execute(select(column).distinct().where(
                    column.isnot(None))).scalars())
                if fk.column.table.name in held:
                    refs -= _ids(backup, fk.column, refs)
                refs -= _ids(conn, fk.column, refs) if refs else set()
                if refs and not column.nullable:
                    raise CommunityBackupError(
                        "MISSING_ROWS", f"{table.name}.{column.name} 指向不在备份里、也不在数据库里的行",
                        f"{table.name}.{column.name} names {len(refs)} row(s) neither the "
                        "backup nor this database holds")
                if refs:
                    missing[(table.name, column.name)] = refs
    return missing


class _NewIds:
    """Ids for rows whose own is taken here: above every id of the table here, in the
    backup, and (PostgreSQL) ever handed out by its sequence."""

    def __init__(self, conn, backup, table):
        self.conn, self.backup, self.table, self.next = conn, backup, table, None

    def take(self) -> int:
        if self.next is None:
            here = self.conn.execute(select(func.max(self.table.c.id))).scalar() or 0
            there = self.backup.execute(select(func.max(self.table.c.id))).scalar() or 0
            self.next = max(here, there, _sequence_value(self.conn, self.table.name)) + 1
        self.next += 1
        return self.next - 1


def _insert(conn, backup, table, missing: dict, remap: dict, result: RestoreResult) -> int:
    """Copy one table's rows in batches: references left empty or renumbered, ids taken
    here renumbered, logins that are here already kept as they are."""
    lost = {c: v for (t, c), v in missing.items() if t == table.name}
    follows = [(c.name, fk.column.table.name) for c in table.c for fk in c.foreign_keys]
    new_ids = _NewIds(conn, backup, table) if _renumberable(table) else None
    n = 0
    rows_in = backup.execution_options(stream_results=True).execute(select(table)).mappings()
    for batch in rows_in.partitions(BATCH):
        rows = [dict(r) for r in batch]
        for column, values in lost.items():
            emptied = [r for r in rows if r[column] in values]
            for row in emptied:
                row[column] = None
            if emptied:
                key = f"{table.name}.{column}"
                result.detached[key] = result.detached.get(key, 0) + len(emptied)
        for column, target in follows:
            moved = remap.get(target) or {}
            for row in rows:
                row[column] = moved.get(row[column], row[column])
        if table.name in MERGED:
            rows = _new_logins(conn, table, rows)
        if new_ids is not None:
            _renumber(conn, table, rows, new_ids, remap[table.name], result)
        n += _put(conn, table, rows)
    return n


def _renumberable(table) -> bool:
    return "id" in table.c and table.c.id.primary_key and len(table.primary_key.columns) == 1


def _renumber(conn, table, rows: list[dict], new_ids: _NewIds, moved: dict,
              result: RestoreResult) -> None:
    taken = _ids(conn, table.c.id, [r["id"] for r in rows]) if rows else set()
    for row in rows:
        if row["id"] in taken:
            moved[row["id"]] = row["id"] = new_ids.take()
            result.renumbered[table.name] = result.renumbered.get(table.name, 0) + 1


def _put(conn, table, rows: list[dict]) -> int:
    if not rows:
        return 0
    try:
        conn.execute(insert(table), rows)
    except IntegrityError as err:
        raise CommunityBackupError(
            "CLASH", f"{table.name} 的数据与这里已有的冲突",
            f"{table.name}: rows clash with this database's "
            f"({str(err.orig).splitlines()[0][:200]})") from None
    return len(rows)


def _new_logins(conn, table, rows: list[dict]) -> list[dict]:
    """The logins not here yet; one whose name another login here has is refused (a
    different person, or the same under another id: the operator decides, not a restore)."""
    taken = dict(conn.execute(select(table.c.username, table.c.id).where(
        table.c.username.in_([r["username"] for r in rows]))).all())
    fresh = []
    for row in rows:
        if row["username"] in taken:
            if taken[row["username"]] != row["id"]:
                raise CommunityBackupError(
                    "USER_CLASH", f"这里已有另一个用户名为 {row['username']} 的用户",
                    f"another user here is called {row['username']}: rename one first")
            continue  # the same login: kept as it is here
        fresh.append(row)
    return fresh


def _sequence(conn, table_name: str) -> str | None:
    """The PostgreSQL sequence that hands out ``table_name``'s ids (None on SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                        {"t": table_name}).scalar()


def _sequence_value(conn, table_name: str) -> int:
    """The last id the sequence handed out (0: none, or SQLite)."""
    seq = _sequence(conn, table_name)
    if not seq:
        return 0
    return conn.execute(text("SELECT COALESCE(pg_sequence_last_value(CAST(:s AS regclass)), 0)"),
                        {"s": seq}).scalar() or 0


def _advance_sequences(conn) -> None:
    """PostgreSQL hands out ids from sequences that an insert with ids does not move: each
    goes past the highest id now in its table (never back)."""
    for table in tables():
        seq = _sequence(conn, table.name) if _renumberable(table) else None
        if seq:
            highest = conn.execute(select(func.max(table.c.id))).scalar() or 0
            conn.execute(text("SELECT setval(CAST(:s AS regclass), :n)"),
                         {"s": seq, "n": max(highest, _sequence_value(conn, table.name), 1)})
