"""One community's rows in a file of their own, and back: ``backup --community CODE``.

A whole-database backup (``services.backup``) is the database's own format and goes back
whole. One community of a sub-district cannot: its rows sit among everyone else's. So a
community backup is a small SQLite database of the same schema, whatever the source
(SQLite or PostgreSQL), holding that community's row, every row whose ``community_id`` is
its id, and the staff logins those rows name (guards, who issued a certificate...). A
table ``community_backup`` says what it is: community code, schema revision, source.

It goes back through ``services.community_restore``: into the same database, a fresh one
(moving the community out), or another sub-district's. The file is 0600.
"""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import MetaData, create_engine, delete, insert, inspect, or_, select, text

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


def tables() -> list:
    """The tables a community backup may hold, parents before children."""
    return [t for t in db.metadata.sorted_tables if t.name not in SKIPPED]


def owned(table) -> bool:
    """A table whose rows belong to one community by their ``community_id``."""
    return "community_id" in table.c and table.name not in MERGED


def revision(conn) -> str:
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
    for table in tables():
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
        # a row may name one that comes later (its logins) or stays behind (another
        # community's): the file keeps the ids, a restore checks them
        out.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in tables():
            if table.name in MERGED:
                continue
            where = (table.c.id == community["id"]) if table.name == "communities" \
                else (table.c.community_id == community["id"]) if owned(table) else None
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
            {"k": "revision", "v": revision(source)},
            {"k": "source", "v": source.dialect.name},
            {"k": "created_at", "v": datetime.now(timezone.utc).isoformat(timespec="seconds")}])
    with engine.connect() as out:  # one self-contained file, no -wal beside it
        out.exec_driver_sql("PRAGMA journal_mode=DELETE")
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
    return _stream(source, out, container_table, select(table).where(or_(*clauses)), {})
