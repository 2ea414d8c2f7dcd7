"""Back up and restore the whole database: SQLite's online backup API, pg_dump/pg_restore.

A backup is one file: a SQLite database (consistent even while gates write, WAL
included) or a PostgreSQL custom-format dump. Both are created readable by their owner
only: they hold residents' names and phones. ``restore`` puts a backup into the
configured database, which must be empty unless forced (a restore replaces everything).
Keys (``KEYS_DIR``) and ``instance/secret_key`` are separate files: back them up too.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from ..extensions import db
from ..common.errors import ServiceError
from ..common.files import private_path

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(ServiceError):
    """A backup or restore that cannot be done, said plainly."""


def _url():
    return make_url(db.engine.url.render_as_string(hide_password=False))


def row_counts() -> dict[str, int]:
    """Rows in every table of the configured database (how a restore is checked)."""
    names = inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:
        if "communities" in names:
            _see_every_community(conn)
        return {n: conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar_one()
                for n in sorted(names)}


def _see_every_community(conn) -> None:
    """PostgreSQL's row-level security shows a session no community's rows until it names
    them (``app.rls``); a backup and its counts are of every community. For this transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('app.community_ids', "
                          "(SELECT coalesce(string_agg(id::text, ','), '') FROM communities), true)"))


def _every_community_ids() -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(string_agg(id::text, ','), '') "
                                 "FROM communities")).scalar_one()


# -- SQLite -------------------------------------------------------------------------

def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:":
        raise BackupError("NO_FILE", "内存数据库无法备份", "an in-memory database has no file to back up")
    return Path(database)


def _sqlite_copy(src: Path, dst: Path) -> None:
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


# -- PostgreSQL ---------------------------------------------------------------------

def _pg_env() -> tuple[dict, str]:
    """libpq settings for pg_dump/pg_restore from DATABASE_URL (password not on the command
    line, where ``ps`` would show it)."""
    url = _url()
    env = {**os.environ, "PGHOST": url.host or "localhost", "PGPORT": str(url.port or 5432),
           "PGUSER": url.username or "", "PGDATABASE": url.database or ""}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env, url.database or ""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError("NO_TOOL", f"找不到 {name}：请安装 postgresql-client",
                          f"{name} not found: install postgresql-client")
    return path


def _major(text: str) -> int:
    m = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(m.group(1)) if m else 0


def check_client_version(tool: str) -> None:
    """pg_dump cannot dump a newer server (and pg_restore not read a newer dump)."""
    client = _major(subprocess.run([_tool(tool), "--version"], capture_output=True, text=True,
                                   check=True).stdout)
    with db.engine.connect() as conn:
        server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    if client < server:
        raise BackupError("CLIENT_TOO_OLD",
                          f"{tool} 版本 {client} 低于数据库服务器版本 {server}，请安装 postgresql-client-{server}",
                          f"{tool} {client} is older than the server ({server}): "
                          f"install postgresql-client-{server}")


def _run(cmd: list[str], env: dict) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise BackupError("TOOL_FAILED", f"{Path(cmd[0]).name} 失败：{r.stderr.strip()[-400:]}",
                          f"{Path(cmd[0]).name} failed: {r.stderr.strip()[-400:]}")


# -- the use cases ------------------------------------------------------------------

def backup(out: str | os.PathLike) -> dict[str, int]:
    """Write the whole database to ``out`` (owner-only); returns the row counts backed up."""
    out = Path(out)
    counts = row_counts()
    private_path(out)
    if db.engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_path(), out)
    elif db.engine.dialect.name == "postgresql":
        check_client_version("pg_dump")
        env, name = _pg_env()
        # The role is bound by row-level security (FORCE; docs/deploy.md §9): dump with the
        # policies on and every community named, or pg_dump stops at the first such table.
        env["PGOPTIONS"] = f"-c app.community_ids={_every_community_ids()}"
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              "--enable-row-security", "--file", str(out), name], env)
    else:
        raise BackupError("UNSUPPORTED", f"不支持的数据库 {db.engine.dialect.name}",
                          f"unsupported database {db.engine.dialect.name}")
    return counts


def restore(src: str | os.PathLike, force: bool = False) -> dict[str, int]:
    """Replace the configured (empty) database with backup ``src``; returns its row counts."""
    src = Path(src)
    head = src.open("rb").read(16)
    dialect = db.engine.dialect.name
    kind = "sqlite" if head.startswith(SQLITE_MAGIC) else \
        "postgresql" if head.startswith(PGDUMP_MAGIC) else None
    if kind is None:
        raise BackupError("NOT_A_BACKUP", f"{src.name} 不是备份文件", f"{src.name} is not a backup")
    if kind != dialect:
        raise BackupError("WRONG_KIND", f"这是 {kind} 的备份，而当前数据库是 {dialect}",
                          f"this is a {kind} backup but the database is {dialect}")
    # A new database holds its one community already (init-db); that is not data.
    present = {n: c for n, c in row_counts().items()
               if c and n not in ("alembic_version", "communities")}
    if present and not force:
        raise BackupError("NOT_EMPTY", "目标数据库不是空的；确认要覆盖请加 --force",
                          "the database is not empty; add --force to replace it: "
                          + ", ".join(f"{n}={c}" for n, c in present.items()))
    db.session.remove()
    if dialect == "sqlite":
        db.engine.dispose()
        _sqlite_copy(src, _sqlite_path())
    else:
        check_client_version("pg_restore")
        env, name = _pg_env()
        with db.engine.begin() as conn:  # an empty schema to restore into
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        db.engine.dispose()
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", "--dbname", name, str(src)], env)
    db.engine.dispose()
    return row_counts()
