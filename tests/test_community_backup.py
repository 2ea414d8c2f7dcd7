"""``backup --community CODE`` and ``restore``: one community's rows only, back into the
same database, or out to a database of its own (then ``communities remove`` here), on
SQLite and PostgreSQL. The whole-database backup is tests/test_backup.py."""
import os
import sqlite3
import stat
import uuid

import pytest

from app import create_app
from app.extensions import db
from app.models.communities import Community
from helpers import csrf_token, second_database

pytestmark = pytest.mark.both_databases


@pytest.fixture
def subdistrict(app, runner):
    r = runner.invoke(args=["demo", "--communities", "2", "--passes", "40"])
    assert r.exit_code == 0, r.output
    return runner


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A second, empty database of the same kind."""
    yield from second_database(database_url, tmp_path, "moved")


def rows_of(app, code: str) -> dict[str, int]:
    """Rows per table of community ``code`` (every table with a community_id)."""
    from app.tenancy import system_scope
    with app.app_context(), system_scope():
        cid = db.session.scalar(db.select(Community.id).where(Community.code == code))
        conn = db.session.connection()
        return {t.name: conn.execute(db.select(db.func.count()).select_from(t).where(
                    t.c.community_id == cid)).scalar_one()
                for t in db.metadata.sorted_tables if "community_id" in t.c}


def _log_in(app, username, password):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302, username
    return client


def test_the_file_holds_that_community_only(app, subdistrict, tmp_path):
    out = tmp_path / "c2.backup"
    r = subdistrict.invoke(args=["backup", str(out), "--community", "c2"])
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    expected = rows_of(app, "c2")
    with app.app_context():
        c2 = db.session.scalar(db.select(Community.id).where(Community.code == "c2"))
    con = sqlite3.connect(out)
    for table, n in expected.items():
        if table == "users":
            continue
        ids = {r[0] for r in con.execute(f'SELECT DISTINCT community_id FROM "{table}"')}
        assert ids <= {c2}, table
        assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == n, table
    users = {r[0] for r in con.execute("SELECT username FROM users")}
    assert {"office-c2", "guard-c2"} <= users and not users & {"office", "district"}
    assert [r[0] for r in con.execute("SELECT code FROM communities")] == ["c2"]
    con.close()


def test_move_a_community_out_to_its_own_database(app, subdistrict, tmp_path, empty_database,
                                                  keys_dir):
    c1_before, c2_before = rows_of(app, "c1"), rows_of(app, "c2")
    out = tmp_path / "c2.backup"
    assert subdistrict.invoke(args=["backup", str(out), "--community", "c2"]).exit_code == 0

    target = create_app({"TESTING": True, "SECRET_KEY": "t-" + uuid.uuid4().hex,
                         "SQLALCHEMY_DATABASE_URI": empty_database, "KEYS_DIR": str(keys_dir)})
    try:
        runner = target.test_cli_runner()
        r = runner.invoke(args=["restore", str(out)])
        assert r.exit_code == 0, r.output
        listed = runner.invoke(args=["communities", "list"]).output.split()
        assert listed[:2] == ["c2", "安宁里社区"] and "c1" not in listed
        moved = rows_of(target, "c2")
        assert {k: v for k, v in moved.items() if k != "users"} == \
            {k: v for k, v in c2_before.items() if k != "users"}
        html = _log_in(target, "office-c2", "office-demo").get("/office/people")
        assert html.status_code == 200
        # the moved community works on: a new device, new ids past the restored ones
        r = runner.invoke(args=["devices", "create", "--gate", "南门"])
        assert r.exit_code == 0, r.output
    finally:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()

    r = subdistrict.invoke(args=["communities", "remove", "c2"])
    assert r.exit_code != 0 and "--yes" in r.output
    r = subdistrict.invoke(args=["communities", "remove", "c2", "--yes"])
    assert r.exit_code == 0, r.output
    assert [line.split()[0] for line in
            subdistrict.invoke(args=["communities", "list"]).output.splitlines()] == ["c1"]
    c1_after = rows_of(app, "c1")
    assert {k: v for k, v in c1_after.items() if k != "audit_entries"} == \
        {k: v for k, v in c1_before.items() if k != "audit_entries"}


def test_back_into_the_same_database(app, subdistrict, tmp_path):
    before = rows_of(app, "c2")
    out = tmp_path / "c2.backup"
    assert subdistrict.invoke(args=["backup", str(out), "--community", "c2"]).exit_code == 0
    r = subdistrict.invoke(args=["restore", str(out)])
    assert r.exit_code != 0 and "--force" in r.output  # c2 is there with its data
    assert subdistrict.invoke(args=["communities", "remove", "c2", "--yes"]).exit_code == 0
    r = subdistrict.invoke(args=["restore", str(out)])
    assert r.exit_code == 0, r.output
    after = rows_of(app, "c2")
    assert {k: v for k, v in after.items() if k != "users"} == \
        {k: v for k, v in before.items() if k != "users"}
    r = subdistrict.invoke(args=["restore", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert rows_of(app, "c2") == after
    _log_in(app, "office-c2", "office-demo")


def test_an_unknown_community_is_refused(app, subdistrict, tmp_path):
    r = subdistrict.invoke(args=["backup", str(tmp_path / "x.backup"), "--community", "c9"])
    assert r.exit_code != 0 and "no community c9" in r.output


def test_into_another_database_with_its_own_data(app, subdistrict, tmp_path, empty_database,
                                                 keys_dir):
    """Ids the other database uses already are renumbered, and the rows naming them follow."""
    before = rows_of(app, "c2")
    out = tmp_path / "c2.backup"
    assert subdistrict.invoke(args=["backup", str(out), "--community", "c2"]).exit_code == 0
    target = create_app({"TESTING": True, "SECRET_KEY": "t-" + uuid.uuid4().hex,
                         "SQLALCHEMY_DATABASE_URI": empty_database, "KEYS_DIR": str(keys_dir)})
    try:
        runner = target.test_cli_runner()
        assert runner.invoke(args=["init-db"]).exit_code == 0
        assert runner.invoke(args=["demo", "--passes", "60", "--no-scans"]).exit_code == 0
        r = runner.invoke(args=["restore", str(out)])
        assert r.exit_code == 0, r.output
        assert "given new ones" in r.output  # people, passes... of c1 hold c2's old ids
        after = rows_of(target, "c2")
        assert {k: v for k, v in after.items() if k != "users"} == \
            {k: v for k, v in before.items() if k != "users"}
        from app.models import Pass, Person, Scan
        from app.tenancy import system_scope
        with target.app_context(), system_scope():
            c2 = db.session.scalar(db.select(Community.id).where(Community.code == "c2"))
            astray = db.session.scalar(db.select(db.func.count(Scan.id)).join(
                Pass, Scan.pass_id == Pass.id).where(Scan.community_id == c2,
                                                     Pass.community_id != c2))
            homeless = db.session.scalar(db.select(db.func.count(Pass.id)).join(
                Person, Pass.person_id == Person.id).where(Pass.community_id == c2,
                                                           Person.community_id != c2))
        assert (astray, homeless) == (0, 0)
        assert rows_of(target, "c1")["people"] > 0  # the other community is untouched
        _log_in(target, "office-c2", "office-demo")
    finally:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()
