"""One community's rows in a file of their own, and back: ``backup --community CODE``.

A whole-database backup (``services.backup``) is the database's own format and goes back
whole. One community of a sub-district cannot: its rows sit among everyone else's. So a
community backup is a small SQLite database of the same schema, whatever the source
(SQLite or PostgreSQL), holding that community's row, every row whose ``community_id`` is
its id, and the staff logins those rows name (guards, who issued a certificate...). A
table ``community_backup`` says what it is: community code, schema revision, source.

Restoring inserts those rows with their ids into the configured database, in one
transaction, so the file serves three cases:
- the same database, the community lost or damaged (``--force`` first deletes its rows);
- a fresh database: ``init-db`` made it with an empty default community, which a
  community restore takes over (drops), so the community moves out to a database of
  its own (``communities remove`` then deletes it from the old one);
- another sub-district's database, if no id is in use there (else refused, not merged).

A reference to a row the file does not hold and the target lacks (a scan of a
sub-district-wide pass whose holder stays with the sub-district) becomes NULL where the
column allows it, counted in the result; else the restore is refused. The file is 0600.
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import MetaData, create_engine, delete, func, insert, inspect, select, text

from ..common.errors import ServiceError
from ..common.files import private_path
from ..extensions import db

FORMAT = "gatepass-community-1"
META_TABLE = "community_backup"
SKIPPED = {"rate_hits", "alembic_version"}  # counters of the moment; the schema's revision
MERGED = {"users"}  # logins: inserted when missing, kept when there, never deleted
BATCH = 2000


class CommunityBackupError(ServiceError):
    """A community backup or restore that cannot be done, said plainly."""


@dataclass
class RestoreResult:
    code: str
    counts: dict[str, int] = field(default_factory=dict)
    detached: dict[str, int] = field(default_factory=dict)  # "scans.pass_id" -> rows set NULL
    replaced_empty: str = ""  # code of the empty default community taken over, if any


def is_community_backup(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a community backup (a SQLite file with our meta table)."""
    try:
        with open(path, "rb") as fh:
            if not fh.read(16).startswith(b"SQLite format 3\x00"):
                return False
        con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        try:
            return con.execute("SELECT count(*) FROM sqlite_master WHERE name = ?",
                               (META_TABLE,)).fetchone()[0] == 1
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False


def _tables() -> list:
    return [t for t in db.metadata.sorted_tables if t.name not in SKIPPED]


def _owned(table) -> bool:
    """A table whose rows belong to one community by their ``community_id``."""
    return "community_id" in table.c and table.name not in MERGED


def _revision(conn) -> str:
    if not inspect(conn).has_table("alembic_version"):
        return ""
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""


def _community_row(conn, code: str):
    table = db.metadata.tables["communities"]
    return conn.execute(select(table).where(table.c.code == code)).mappings().first()


# -- backup -------------------------------------------------------------------------

def backup_community(code: str, out: str | os.PathLike) -> dict[str, int]:
    """Write community ``code``'s rows to ``out`` (owner-only); returns rows per table."""
    from ..tenancy import use_scope
    source = db.session.connection()
    community = _community_row(source, code)
    if community is None:
        raise CommunityBackupError("NO_COMMUNITY", f"没有社区 {code}", f"no community {code}")
    out = private_path(out)
    target = create_engine(f"sqlite:///{out}")
    try:
        with use_scope(frozenset({community["id"]}), write_id=community["id"]):
            counts = _copy_out(db.session.connection(), target, community)
    finally:
        target.dispose()
    os.chmod(out, 0o600)
    return counts


def _container(engine) -> MetaData:
    """The schema in the backup file: the models' tables, without their events (a hook
    that seeds the default community must not run here), emptied to be sure."""
    meta = MetaData()
    for table in _tables():
        table.to_metadata(meta)
    meta.create_all(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            conn.execute(delete(table))
    return meta


def _copy_out(source, engine, community) -> dict[str, int]:
    meta = _container(engine)
    counts: dict[str, int] = {}
    wanted: dict[str, set] = {name: set() for name in MERGED}
    with engine.begin() as out:
        for table in _tables():
            if table.name in MERGED:
                continue
            where = (table.c.id == community["id"]) if table.name == "communities" \
                else (table.c.community_id == community["id"]) if _owned(table) else None
            if where is None:
                continue  # a table of no community that is not a login: nothing of theirs
            counts[table.name] = _stream(source, out, meta.tables[table.name],
                                         select(table).where(where), wanted)
        for name in MERGED:
            counts[name] = _copy_logins(source, out, meta.tables[name], community["id"],
                                        wanted[name])
        out.execute(text(f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)"))
        out.execute(text(f"INSERT INTO {META_TABLE} VALUES (:k, :v)"), [
            {"k": "format", "v": FORMAT}, {"k": "code", "v": community["code"]},
            {"k": "community_id", "v": str(community["id"])},
            {"k": "revision", "v": _revision(source)},
            {"k": "source", "v": source.dialect.name},
            {"k": "created_at", "v": datetime.now(timezone.utc).isoformat(timespec="seconds")}])
    return counts


def _stream(source, out, container_table, stmt, wanted: dict[str, set]) -> int:
    """Copy the rows of ``stmt`` in batches; note the logins they name (FKs to MERGED)."""
    refs = [(c.name, fk.column.table.name) for c in container_table.c for fk in c.foreign_keys
            if fk.column.table.name in wanted]
    n = 0
    result = source.execution_options(stream_results=True).execute(stmt).mappings()
    for batch in result.partitions(BATCH):
        rows = [dict(r) for r in batch]
        for column, target in refs:
            wanted[target].update(r[column] for r in rows if r[column] is not None)
        out.execute(insert(container_table), rows)
        n += len(rows)
    return n


def _copy_logins(source, out, container_table, community_id: int, named: set) -> int:
    """The community's own staff, and the staff of other communities its rows name."""
    table = db.metadata.tables[container_table.name]
    where = table.c.community_id == community_id if "community_id" in table.c else None
    ids = sorted(named)
    clauses = [where] if where is not None else []
    clauses += [table.c.id.in_(ids[i:i + 500]) for i in range(0, len(ids), 500)]
    if not clauses:
        return 0
    from sqlalchemy import or_
    return _stream(source, out, container_table, select(table).where(or_(*clauses)), {})


# -- restore ------------------------------------------------------------------------

def restore_community(src: str | os.PathLike, force: bool = False) -> RestoreResult:
    """Insert the community backup ``src`` into the configured database, all or nothing."""
    if not is_community_backup(src):
        raise CommunityBackupError("NOT_A_BACKUP", f"{Path(src).name} 不是社区备份",
                                   f"{Path(src).name} is not a community backup")
    engine = create_engine(f"sqlite:///file:{Path(src).resolve()}?mode=ro&uri=true")
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
    code, cid = info["code"], int(info["community_id"])
    _see_every_community(conn, cid)
    result = RestoreResult(code)
    keep = _make_room(conn, code, cid, force, result)
    held = set(inspect(backup).get_table_names())
    missing = _dangling(conn, backup, held)
    for table in _tables():
        if table.name not in held:
            continue
        if table.name == "communities":
            _put_community(conn, backup, table, keep)
            result.counts[table.name] = 1
        else:
            result.counts[table.name] = _insert(conn, backup, table, missing, result.detached)
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
        raise CommunityBackupError(
            "SCHEMA", f"备份（版本 {info.get('revision') or '?'}）与当前数据库（版本 "
                      f"{_revision(conn) or '?'}）的表结构不同：{', '.join(differ[:5])}；请先升级",
            f"the backup (schema {info.get('revision') or '?'}) and this database (schema "
            f"{_revision(conn) or '?'}) differ in {', '.join(differ[:5])}: upgrade first")


def _see_every_community(conn, cid: int) -> None:
    """PostgreSQL's row-level security shows a transaction only the communities named in
    ``app.community_ids``; a restore must see every row an id could clash with, and write
    rows of a community the scope did not know yet."""
    if conn.dialect.name != "postgresql":
        return
    table = db.metadata.tables["communities"]
    ids = set(conn.execute(select(table.c.id)).scalars()) | {cid}
    conn.execute(text("SELECT set_config('app.community_ids', :ids, true)"),
                 {"ids": ",".join(str(i) for i in sorted(ids))})


def _has_rows(conn, community_id: int) -> bool:
    for table in _tables():
        if _owned(table) or table.name in MERGED and "community_id" in table.c:
            if conn.execute(select(table.c.community_id).where(
                    table.c.community_id == community_id).limit(1)).first():
                return True
    return False


def _make_room(conn, code: str, cid: int, force: bool, result: RestoreResult) -> bool:
    """Clear the way for community ``code`` (id ``cid``); True when its row stays (updated).

    An empty community of the same code, or the lone empty one a fresh database starts
    with, is dropped; the same community with data is emptied only with ``force``."""
    table = db.metadata.tables["communities"]
    rows = conn.execute(select(table)).mappings().all()
    same = next((r for r in rows if r["code"] == code), None)
    if same is not None and _has_rows(conn, same["id"]):
        if not force:
            raise CommunityBackupError(
                "NOT_EMPTY", f"社区 {code} 已有数据；确认要覆盖请加 --force",
                f"community {code} has data; add --force to replace it")
        if same["id"] != cid:
            raise CommunityBackupError(
                "OTHER_ID", f"这里的社区 {code} 编号是 {same['id']}，备份里是 {cid}",
                f"community {code} has id {same['id']} here but {cid} in the backup")
        for owned in reversed(_tables()):
            if _owned(owned) and owned.name != "communities":
                conn.execute(delete(owned).where(owned.c.community_id == cid))
        return True
    lone = [r for r in rows if r["kind"] == "community"]
    if same is None and len(rows) == 1 and len(lone) == 1 and not _has_rows(conn, lone[0]["id"]):
        same = lone[0]
        result.replaced_empty = same["code"]
    if same is not None:
        conn.execute(delete(table).where(table.c.id == same["id"]))
    if conn.execute(select(table.c.code).where(table.c.id == cid)).scalar() is not None:
        raise CommunityBackupError(
            "ID_IN_USE", f"编号 {cid} 已被另一个社区使用：请恢复到一个空数据库",
            f"id {cid} belongs to another community here: restore into an empty database")
    return False


def _put_community(conn, backup, table, keep: bool) -> None:
    row = dict(backup.execute(select(table)).mappings().one())
    if keep:
        conn.execute(table.update().where(table.c.id == row["id"]).values(
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
    """(table, column) -> values the column refers to that neither the backup nor the
    database holds; refused where the column may not be NULL."""
    missing = {}
    for table in _tables():
        if table.name not in held:
            continue
        for column in table.c:
            for fk in column.foreign_keys:
                refs = set(backup.execute(select(column).distinct().where(
                    column.isnot(None))).scalars())
                target = fk.column
                if target.table.name in held:
                    refs -= _ids(backup, target, refs)
                refs -= _ids(conn, target, refs) if refs else set()
                if refs and not column.nullable:
                    raise CommunityBackupError(
                        "MISSING_ROWS", f"{table.name}.{column.name} 指向不在备份里、也不在数据库里的行",
                        f"{table.name}.{column.name} refers to {len(refs)} row(s) neither the "
                        "backup nor the database holds")
                if refs:
                    missing[(table.name, column.name)] = refs
    return missing


def _insert(conn, backup, table, missing: dict, detached: dict) -> int:
    """Copy one table's rows in batches; logins that exist already are kept as they are."""
    from sqlalchemy.exc import IntegrityError
    lost = {c: v for (t, c), v in missing.items() if t == table.name}
    n = 0
    result = backup.execution_options(stream_results=True).execute(select(table)).mappings()
    for batch in result.partitions(BATCH):
        rows = [dict(r) for r in batch]
        for column, values in lost.items():
            for row in rows:
                if row[column] in values:
                    row[column] = None
                    key = f"{table.name}.{column}"
                    detached[key] = detached.get(key, 0) + 1
        if table.name in MERGED:
            rows = _new_logins(conn, table, rows)
        if not rows:
            continue
        try:
            conn.execute(insert(table), rows)
        except IntegrityError as err:
            raise CommunityBackupError(
                "ID_IN_USE", f"{table.name} 的编号已被占用：请恢复到一个空数据库",
                f"{table.name}: ids in use here already, restore into an empty database "
                f"({str(err.orig).splitlines()[0][:200]})") from None
        n += len(rows)
    return n


def _new_logins(conn, table, rows: list[dict]) -> list[dict]:
    """The logins not in the database yet; the same id under another name is refused."""
    have = dict(conn.execute(select(table.c.id, table.c.username).where(
        table.c.id.in_([r["id"] for r in rows]))).all())
    taken = dict(conn.execute(select(table.c.username, table.c.id).where(
        table.c.username.in_([r["username"] for r in rows]))).all())
    fresh = []
    for row in rows:
        if have.get(row["id"], row["username"]) != row["username"] or \
                taken.get(row["username"], row["id"]) != row["id"]:
            raise CommunityBackupError(
                "USER_CLASH", f"用户 {row['username']} 与这里的用户冲突（编号不同）",
                f"user {row['username']} clashes with a user here (another id or name)")
        if row["id"] not in have:
            fresh.append(row)
    return fresh


def _advance_sequences(conn) -> None:
    """PostgreSQL hands out ids from sequences that an insert with ids does not move."""
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                           {"t": table.name}).scalar()
        if seq:
            conn.execute(text(
                "SELECT setval(CAST(:s AS regclass), GREATEST(COALESCE(pg_sequence_last_value("
                f'CAST(:s AS regclass)), 0), (SELECT COALESCE(max(id), 0) FROM "{table.name}"), 1))'),
                {"s": seq})
