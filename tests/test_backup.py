"""``flask --app app backup OUT`` / ``restore IN``: restore into an empty database and
compare every table's row count, on SQLite and PostgreSQL."""
import os
import stat
import uuid

import pytest

from helpers import second_database
from app import create_app
from app.extensions import db
from app.services.backup import row_counts

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A second, empty database of the same kind."""
    yield from second_database(database_url, tmp_path, "restore")


def test_backup_then_restore_into_an_empty_database_keeps_every_row(app, runner, tmp_path,
                                                                     empty_database, keys_dir):
    r = runner.invoke(args=["demo", "--passes", "40"])
    assert r.exit_code == 0, r.output
    runner.invoke(args=["devices", "create", "--gate", "南门"])  # an audit entry too
    with app.app_context():
        before = row_counts()
    assert before["passes"] >= 40 and before["scans"] > 0 and before["audit_entries"] > 0

    out = tmp_path / "backups" / "gatepass.backup"
    r = runner.invoke(args=["backup", str(out)])
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600

    target = create_app({"TESTING": True, "SECRET_KEY": "t-" + uuid.uuid4().hex,
                         "SQLALCHEMY_DATABASE_URI": empty_database, "KEYS_DIR": str(keys_dir)})
    r = target.test_cli_runner().invoke(args=["restore", str(out)])
    assert r.exit_code == 0, r.output
    with target.app_context():
        after = row_counts()
        db.session.remove()
        db.engine.dispose()
    assert after == before

    # a second restore would overwrite data: refused without --force
    r = target.test_cli_runner().invoke(args=["restore", str(out)])
    assert r.exit_code != 0 and "not empty" in r.output
    with target.app_context():
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(app, runner, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello, not a database")
    r = runner.invoke(args=["restore", str(junk)])
    assert r.exit_code != 0 and "not a backup" in r.output
