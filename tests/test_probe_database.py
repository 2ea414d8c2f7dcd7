"""Issue 15 §4, the database going away: a PostgreSQL restart costs no request once it is
back (pool_pre_ping), and while it is unreachable the gate API answers 503 with
Retry-After and the log gets one line per outage, not a traceback per request."""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timezone

import pytest

from app import create_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the with block ends


@pytest.mark.both_databases
def test_requests_succeed_after_the_database_dropped_every_connection(app, client, make, scan,
                                                                      backend, auth):
    token = make.token(make.pass_for())
    assert scan(token, "in").status_code == 200
    auth.login("office")
    assert client.get("/office/").status_code == 200
    if backend == "postgres":
        import psycopg
        url = os.environ["TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        assert killed >= 1  # the pool's connections, as `pg_ctlcluster restart -m fast` does
    else:
        with app.app_context():
            from app.extensions import db
            db.engine.pool.dispose()
    r = scan(token, "out")
    assert r.status_code == 200 and r.get_json()["allowed"]
    assert client.get("/office/").status_code == 200  # office pages too


def test_database_down_is_503_with_retry_after_and_one_log_line(app, client, auth, keys_dir,
                                                                 caplog):
    auth.login("office")  # a session made while the database was up
    down = create_app({
        "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "KEYS_DIR": str(keys_dir),
        "SERVER_NAME": "localhost",
        "SQLALCHEMY_DATABASE_URI":
            f"postgresql+psycopg://nobody:x@127.0.0.1:{_closed_port()}/gatepass?connect_timeout=2",
    })
    office_cookie = client.get_cookie("session").value
    client = down.test_client()
    caplog.set_level(logging.INFO)
    body = {"nonce": uuid.uuid4().hex, "token": "GPS.x", "direction": "in",
            "scanned_at": datetime.now(timezone.utc).isoformat()}
    for _ in range(10):
        r = client.post("/api/v1/scans", json=body, headers={"Authorization": "Bearer abc"})
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
        assert r.get_json()["error"] == "database_unavailable"
    client.set_cookie("session", office_cookie, domain="localhost")
    page = client.get("/office/")
    assert page.status_code == 503 and "Retry-After" in page.headers
    assert "数据库暂时无法连接" in page.get_data(as_text=True)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "database unreachable" in lines[0].getMessage() and not lines[0].exc_info
    with down.app_context():
        from app.extensions import db
        db.engine.dispose()
