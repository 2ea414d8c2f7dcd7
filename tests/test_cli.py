"""Operator commands through the Flask CLI runner and a real `flask` process."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
