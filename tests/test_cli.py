"""Operator commands through the Flask CLI runner and a real `flask` process."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import second_database
from app.extensions import db
from app.models import GateDevice, Person


def test_devices_create_prints_token_on_last_line(app, runner, client):
    result = runner.invoke(args=["devices", "create", "--gate", "北门"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    r = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["gate"] == "北门"
    with app.app_context():
        d = db.session.scalar(db.select(GateDevice))
        assert d.token_hash != token and token not in d.token_hash


def test_devices_disable(app, runner, client):
    token = runner.invoke(args=["devices", "create", "--gate", "东门"]).output.strip().splitlines()[-1]
    assert runner.invoke(args=["devices", "disable", "1"]).exit_code == 0
    assert client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_keys_create_list_rotate_retire(app, runner, keys_dir):
    out = runner.invoke(args=["keys", "list"]).output
    assert "* k1" in out
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    out = runner.invoke(args=["keys", "list"]).output
    assert "* k2" in out and "  k1" in out
    assert runner.invoke(args=["keys", "retire", "k1"]).exit_code == 0
    assert "retired" in runner.invoke(args=["keys", "list"]).output
    r = runner.invoke(args=["keys", "retire", "nope"])
    assert r.exit_code != 0 and "no key nope" in r.output
    r = runner.invoke(args=["keys", "create", "--kid", "k2"])
    assert r.exit_code != 0 and "exists" in r.output
    assert sorted(p.name for p in keys_dir.iterdir()) == ["k1.key", "k2.key"]


def test_rules_set_validates(app, runner):
    assert runner.invoke(args=["rules", "set", "sanitation", "--hours", "03:00-07:00"]).exit_code == 0
    r = runner.invoke(args=["rules", "set", "sanitation", "--hours", "early"])
    assert r.exit_code != 0 and "bad time window" in r.output
    assert runner.invoke(args=["rules", "set", "pirates"]).exit_code != 0


def test_users_create(app, runner, client):
    r = runner.invoke(args=["users", "create", "chen", "--role", "guard"], input="s3cret-pw\ns3cret-pw\n")
    assert r.exit_code == 0, r.output
    from helpers import csrf_token
    r = client.post("/login", data={"username": "chen", "password": "s3cret-pw",
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302


def test_demo_builds_a_believable_community(app, runner):
    r = runner.invoke(args=["demo", "--passes", "300"])
    assert r.exit_code == 0, r.output
    assert "admin / admin-demo" in r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("gd_")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Person.id))) > 200
        assert db.session.scalar(db.select(db.func.count(Person.id)).where(
            Person.category == "sanitation")) > 0
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0 and "--reset" in again.output
    assert runner.invoke(args=["demo", "--if-empty"]).exit_code == 0


def test_init_db_runs_migrations_on_a_fresh_file(tmp_path):
    """The real `flask` command, as an operator types it, on an empty database."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
           "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x"}
    root = Path(__file__).resolve().parents[1]
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    r = subprocess.run(flask + ["init-db"], env=env, cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(flask + ["demo", "--passes", "50", "--if-empty"], env=env, cwd=root,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "keys" / "k1.key").exists()
    r = subprocess.run(flask + ["devices", "create", "--gate", "东门"], env=env, cwd=root,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1].startswith("gd_")


def test_migrations_match_the_models(tmp_path):
    """`flask db check`: the Alembic history builds exactly the models' schema."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
           "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x"}
    root = Path(__file__).resolve().parents[1]
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    assert subprocess.run(flask + ["init-db"], env=env, cwd=root).returncode == 0
    r = subprocess.run(flask + ["db", "check"], env=env, cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.other_process  # `flask db upgrade` runs in a subprocess, on the real clock
def test_the_migration_marks_cards_of_unknown_key(tmp_path):
    """Upgrading a database of the previous head: every pass then existing may have a card whose
    key nobody recorded; it becomes "?" (unknown), a pass printed by batch keeps its key."""
    import sqlite3
    from helpers import db_upgrade
    con = sqlite3.connect(db_upgrade(tmp_path, "c15000000001"))
    con.executemany("INSERT INTO people (id, name, category, id_card_masked, employer, is_returnee, "
                    "created_at) VALUES (?, ?, 'resident', '', '', 0, '2026-11-01 00:00:00')",
                    [(1, "甲"), (2, "乙")])
    con.executemany("INSERT INTO passes (id, person_id, serial, category, status, issued_at, updated_at, "
                    "link_version, printed_kid) VALUES (?, ?, 1, 'resident', 'active', '2026-11-01 00:00:00', "
                    "'2026-11-01 00:00:00', 1, ?)", [(1, 1, None), (2, 2, "k1")])
    con.commit()
    db_upgrade(tmp_path)
    assert con.execute("SELECT id, printed_kid FROM passes ORDER BY id").fetchall() == [(1, "?"), (2, "k1")]
    con.close()


@pytest.fixture
def upgrade_url(backend, database_url, tmp_path):
    """A database of its own for an upgrade from an old revision."""
    yield from second_database(database_url, tmp_path, "upgrade")


def _upgrade(url: str, tmp_path, revision: str = "head") -> None:
    env = {**os.environ, "DATABASE_URL": url, "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x"}
    r = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", revision],
                       env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-2000:]


#: One community's rows as the schema before communities (c17000000001) held them.
OLD_ROWS = [
    "INSERT INTO buildings (id, name) VALUES (1, '3号楼')",
    "INSERT INTO households (id, building_id, unit, room, note, link_version) "
    "VALUES (1, 1, '2单元', '301', '', 1)",
    "INSERT INTO people (id, household_id, name, phone, category, id_card_masked, employer, "
    "is_returnee, created_at) VALUES (1, 1, '升级前', '13900000000', 'resident', '', '', :no, :t)",
    "INSERT INTO passes (id, person_id, serial, category, status, issued_at, updated_at, "
    "link_version, printed_kid) VALUES (1, 1, 1, 'resident', 'active', :t, :t, 1, 'k1')",
    "INSERT INTO category_rules (category, hours, gates, anti_passback, temperature_required) "
    "VALUES ('resident', '', '', :yes, :no)",
    "INSERT INTO gates (id, name) VALUES (1, '东门')",
    "INSERT INTO gate_devices (id, gate_id, name, token_hash, active, created_at) "
    "VALUES (1, 1, '东门-1', :device_hash, :yes, :t)",
    "INSERT INTO scans (id, nonce, request_hash, device_id, gate_id, pass_id, direction, "
    "scanned_at, received_at, allowed, reason, raw_text, response) "
    "VALUES (1, 'n1', '', 1, 1, 1, 'in', :t, :t, :yes, 'OK', '', '{}')",
    "INSERT INTO users (id, username, display_name, role, password_hash, active, session_token) "
    "VALUES (1, 'office', '', 'office', :password_hash, :yes, 't')",
]


@pytest.mark.other_process  # `flask db upgrade` runs in a subprocess, on the real clock
@pytest.mark.both_databases
def test_a_single_community_database_upgrades_into_one_community(backend, upgrade_url, tmp_path,
                                                                 keys_dir):
    """A database of the head before communities (c17000000001), with people, a pass, a
    rule, a gate device, a login and a scan, becomes community c1 (issue 18) and keeps
    working with no new flag: its office sees its people, its gate's scans are judged."""
    import uuid
    from datetime import datetime, timezone
    from sqlalchemy import create_engine, text
    from werkzeug.security import generate_password_hash
    from app import create_app
    from app.models import Community, Pass
    from app.services import issuing
    from app.services.devices import device_token_hash
    from helpers import csrf_token
    _upgrade(upgrade_url, tmp_path, "c17000000001")
    engine = create_engine(upgrade_url)
    values = {"t": datetime(2026, 11, 1, tzinfo=timezone.utc), "yes": True, "no": False,
              "device_hash": device_token_hash("gd_old"),
              "password_hash": generate_password_hash("pw-office")}
    with engine.begin() as conn:
        for statement in OLD_ROWS:
            conn.execute(text(statement), {k: v for k, v in values.items() if f":{k}" in statement})
        if backend == "postgres":  # rows given their ids leave the sequences behind
            for table in ("buildings", "households", "people", "passes", "gates", "gate_devices",
                          "scans", "users"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)"))
    _upgrade(upgrade_url, tmp_path)
    with engine.begin() as conn:
        if backend == "postgres":  # row-level security: name the community, or see nothing
            assert conn.execute(text("SELECT count(*) FROM people")).scalar() == 0
            conn.execute(text("SELECT set_config('app.community_ids', '1', true)"))
        assert conn.execute(text("SELECT code, kind FROM communities")).all() == [("c1", "community")]
        for table in ("buildings", "households", "people", "passes", "category_rules", "gates",
                      "gate_devices", "scans", "users"):
            assert conn.execute(text(f"SELECT DISTINCT community_id FROM {table}")).all() == [(1,)]
    engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "KEYS_DIR": str(keys_dir),
                      "SQLALCHEMY_DATABASE_URI": upgrade_url, "SERVER_NAME": "localhost"})
    client = app.test_client()
    with app.app_context():
        assert db.session.scalar(db.select(Community.name))
        token = issuing.static_token(db.session.get(Pass, 1))
    body = {"nonce": uuid.uuid4().hex, "token": token, "direction": "out",
            "scanned_at": datetime.now(timezone.utc).isoformat()}
    r = client.post("/api/v1/scans", json=body, headers={"Authorization": "Bearer gd_old"})
    assert r.get_json()["reason"] == "OK"
    r = client.post("/login", data={"username": "office", "password": "pw-office",
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    assert "升级前" in client.get("/office/people").get_data(as_text=True)
    r = client.post("/office/people/1/issue",
                    data={"csrf_token": csrf_token(client, "/office/people/1")})
    assert r.status_code == 302
    with app.app_context():
        db.engine.dispose()
