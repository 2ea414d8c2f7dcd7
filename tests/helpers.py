"""Helpers the tests share: CSRF tokens, logging in, "this real part must exist".

Imported as ``from helpers import ...`` (pytest puts ``tests/`` on the path).
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GATEPASS_SHARED") or ROOT.parent / "shared")
IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, why: str) -> None:
    """Skip when a real part is missing, but fail in CI, which must have it."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must provide: {why}")
        pytest.skip(why)


def csrf_token(client, url="/login") -> str:
    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, f"no CSRF token on {url}"
    return m.group(1)


def login(client, make, role: str, username: str | None = None):
    username = username or f"{role}-user"
    password = make.user(username, role)
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def post_at_once(app, path: str, body: dict, headers: dict, workers: int = 6) -> list[tuple]:
    """``workers`` clients POST the same body at the same moment (a barrier lets them go
    together), as a retrying gate and a slow link do; (status, JSON) per worker. A worker
    that raises fails the caller's test here rather than vanishing in its thread."""
    results, errors = [], []
    barrier = threading.Barrier(workers)

    def worker():
        client = app.test_client()
        barrier.wait()
        try:
            r = client.post(path, json=body, headers=headers)
            results.append((r.status_code, r.get_json()))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    return results


def pdf_text(pdf, layout: bool = False) -> str:
    """What poppler's pdftotext reads back from a PDF (a path or its bytes): the characters a
    reader, a screen reader or a search finds. A glyph missing from an embedded font subset
    reads back as a gap, so comparing with what was drawn catches a "Hea☒th"."""
    import subprocess
    import tempfile
    if isinstance(pdf, (bytes, bytearray)):
        with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as f:
            f.write(pdf)
        path = f.name
    else:
        path = str(pdf)
    try:
        return subprocess.run(["pdftotext", *(["-layout"] if layout else []), path, "-"],
                              capture_output=True, text=True, check=True).stdout
    finally:
        if isinstance(pdf, (bytes, bytearray)):
            os.unlink(path)


def pdf_fonts(pdf_path) -> list[dict]:
    """pdffonts' table as dicts: name, emb(edded), sub(set), uni(code map)."""
    import subprocess
    out = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    rows = []
    for line in out:
        parts = line.split()
        # name type... encoding emb sub uni object-id gen: the last five columns are fixed
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def db_upgrade(tmp_path, revision: str = "head"):
    """Run ``flask db upgrade REVISION`` on a SQLite file under ``tmp_path`` in a subprocess (what
    an operator does): returns the file's path. Call again with the next revision to upgrade."""
    import subprocess
    import sys
    db_path = tmp_path / "old.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "KEYS_DIR": str(tmp_path / "keys"),
           "SECRET_KEY": "x"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", revision],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    return db_path


def create_database(url, name: str) -> None:
    """Create the empty PostgreSQL database ``name`` on the server of ``url`` (a sqlalchemy
    URL), owned by its role. The service's role may create databases
    (scripts/ensure-postgres.sh); if it may not, the script that made the first database
    makes this one."""
    import subprocess
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ProgrammingError
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            try:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            except ProgrammingError:
                made = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-postgres.sh")],
                                      env={**os.environ, "TEST_POSTGRES_DB": name},
                                      capture_output=True, text=True)
                need(made.stdout.strip() != "", "a PostgreSQL database the tests may create")
    finally:
        admin.dispose()


def second_database(database_url: str, tmp_path, suffix: str):
    """Yield the URL of a second, empty database of the same kind as ``database_url`` (a
    file beside the test's, or a PostgreSQL database named ``<test db>_<suffix>``), dropped
    afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / (suffix + '.db')}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    url = make_url(database_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    drop_database(admin, name)
    create_database(url, name)
    yield url.set(database=name).render_as_string(hide_password=False)
    drop_database(admin, name)
    admin.dispose()


def drop_database(admin, name: str, tries: int = 40) -> None:
    """DROP DATABASE ... WITH (FORCE), again while it is refused: an autovacuum worker on a
    database just filled (a restore) belongs to the server's superuser, whose processes
    the tests' role may not end, and it is gone a moment later."""
    import time
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if attempt == tries - 1:
                raise
            time.sleep(0.25)


def worker_database(database_url: str, worker: str) -> str:
    """The URL of this pytest-xdist worker's own PostgreSQL database, ``<test db>_<worker>``
    (made if missing): two workers on one database would drop each other's tables."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    url = make_url(database_url)
    name = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": name})
    admin.dispose()
    if not exists:
        create_database(url, name)
    return url.set(database=name).render_as_string(hide_password=False)
