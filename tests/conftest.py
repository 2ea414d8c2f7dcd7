"""Fixtures: an app on a real database file (or a real PostgreSQL), clients, makers.

PostgreSQL tests use ``TEST_POSTGRES_URL`` (``make test`` starts a server and
sets it). Without it they skip, except under CI, where a missing server or
browser is a failure, not a skip.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from app.models import Building, Household, Pass, Person, User, Vehicle
from gatepass.tokens import KeyRing
from helpers import ROOT, SHARED, IN_CI, chromium_path, csrf_token, login, need  # noqa: F401
from helpers import worker_database

# -- a travelled clock -------------------------------------------------------
#
# ``pytest --clock 00:40`` (community time, today) or ``--clock 2026-12-31T23:50``
# runs the test process at that hour, its clock ticking on from there
# (time-machine). A test that builds "today at 08:05" or "this morning's slot"
# from the wall clock fails here at 00:40 the way it would on a CI machine at
# that hour. Tests that talk to another process (a browser, a scanner
# subprocess, gunicorn) are skipped: that process keeps the real clock. They
# carry the ``other_process`` marker.

def pytest_addoption(parser):
    parser.addoption("--clock", default=None, metavar="HH:MM|YYYY-MM-DDTHH:MM",
                     help="travel the test process's clock to this community-local time")


def _clock_destination(text: str) -> datetime:
    from zoneinfo import ZoneInfo
    from gatepass.wire import DEFAULT_TIMEZONE
    tz = ZoneInfo(DEFAULT_TIMEZONE)
    if "T" in text or "-" in text:
        dest = datetime.fromisoformat(text)
    else:
        hour, minute = (int(x) for x in text.split(":"))
        dest = datetime.now(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return dest if dest.tzinfo else dest.replace(tzinfo=tz)


_traveller = None


def pytest_configure(config):
    global _traveller
    _own_postgres_database()
    text = config.getoption("--clock")
    if text:
        import time_machine
        _traveller = time_machine.travel(_clock_destination(text), tick=True)
        _traveller.start()


def _own_postgres_database() -> None:
    """``make test`` runs the suite in pytest-xdist workers (``-n``): each worker gets a
    PostgreSQL database of its own, ``<TEST_POSTGRES_URL's db>_gw0`` and so on, set in the
    environment before any test (or subprocess) reads it. A plain run keeps the URL given."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_POSTGRES_URL")
    if worker and url:
        os.environ["TEST_POSTGRES_URL"] = worker_database(url, worker)


def pytest_unconfigure(config):
    if _traveller is not None:
        _traveller.stop()


def pytest_report_header(config):
    if config.getoption("--clock"):
        return f"clock travelled to {datetime.now().astimezone().isoformat(timespec='minutes')}"


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--clock"):
        return
    skip = pytest.mark.skip(reason="another process keeps the real clock (--clock)")
    for item in items:
        if item.get_closest_marker("other_process") or item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture
def keys_dir(tmp_path) -> Path:
    d = tmp_path / "keys"
    KeyRing.create_key(d, "k1")
    return d


def pytest_generate_tests(metafunc):
    """``@pytest.mark.both_databases``: run the test on SQLite and again on PostgreSQL."""
    if metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)],
                             indirect=True)


@pytest.fixture
def backend(request) -> str:
    """sqlite unless the test is marked ``both_databases``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(backend, tmp_path) -> str:
    if backend == "postgres":
        url = os.environ.get("TEST_POSTGRES_URL")
        need(bool(url), "a PostgreSQL server (TEST_POSTGRES_URL)")
        return url
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory) -> Path:
    """A SQLite file holding every table (``create_all``), made once a session: each test's
    database starts as a copy of it, which is what ``create_all`` would make, in a tenth of
    the time. PostgreSQL tests still create theirs (row-level security comes with it)."""
    folder = tmp_path_factory.mktemp("schema")
    KeyRing.create_key(folder / "keys", "k1")
    path = folder / "schema.db"
    made = create_app({"TESTING": True, "SECRET_KEY": "schema", "KEYS_DIR": str(folder / "keys"),
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with made.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def app(database_url, keys_dir, tmp_path, sqlite_schema):
    on_sqlite = database_url.startswith("sqlite:///")
    if on_sqlite:
        shutil.copy(sqlite_schema, database_url.removeprefix("sqlite:///"))  # owner-only mode too
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "KEYS_DIR": str(keys_dir),
        "SERVER_NAME": "localhost",
    })
    if not on_sqlite:
        with app.app_context():
            db.drop_all()
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if database_url.startswith("postgresql"):
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- makers ----------------------------------------------------------------

#: password -> its hash, made once a session: scrypt takes ~0.16 s a call on a 2-core CI box
#: and most tests log someone in with the same password (the login still checks it for real).
_HASHES: dict[str, str] = {}


class Maker:
    """Builds rows the tests need, committed, inside the app's context."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def person(self, name="张三丰", category="resident", building="3号楼", unit="2单元",
               room=None, phone=None) -> int:
        with self.app.app_context():
            self.n += 1
            b = db.session.scalar(db.select(Building).where(Building.name == building)) \
                or Building(name=building)
            h = None
            if category in ("resident", "tenant"):
                h = Household(building=b, unit=unit, room=room or f"{100 + self.n}")
            p = Person(name=name, category=category, household=h,
                       phone=phone or f"139{uuid.uuid4().int % 10**8:08d}")
            db.session.add(p)
            db.session.commit()
            return p.id

    def pass_for(self, person_id: int | None = None, **kw) -> int:
        from app.services.issuing import issue_pass
        with self.app.app_context():
            if person_id is None:
                person_id = self.person(**kw)
            p = issue_pass(db.session.get(Person, person_id))
            db.session.commit()
            return p.id

    def vehicle_pass(self, plate="京A12345") -> int:
        from app.services.issuing import issue_pass
        with self.app.app_context():
            v = Vehicle(plate=plate, kind="own")
            db.session.add(v)
            db.session.flush()
            p = issue_pass(v)
            db.session.commit()
            return p.id

    def token(self, pass_id: int, dynamic: bool = False, now: datetime | None = None) -> str:
        from app.services import issuing
        with self.app.app_context():
            p = db.session.get(Pass, pass_id)
            return issuing.dynamic_token(p, now) if dynamic else issuing.static_token(p)

    def user(self, username: str, role: str, password: str = "pw-" + "x" * 8) -> str:
        with self.app.app_context():
            u = User(username=username, role=role, display_name=username)
            if password not in _HASHES:
                u.set_password(password)
                _HASHES[password] = u.password_hash
            u.password_hash = _HASHES[password]
            db.session.add(u)
            db.session.commit()
        return password

    def device(self, gate: str = "东门") -> str:
        from app.services.devices import create_device
        with self.app.app_context():
            _, token = create_device(gate)
            db.session.commit()
            return token


@pytest.fixture
def make(app) -> Maker:
    return Maker(app)


@pytest.fixture
def device_token(make) -> str:
    return make.device("东门")


@pytest.fixture
def scan(client, device_token):
    """POST one scan the way a gate does; returns the Flask response."""
    def post(token, direction="in", nonce=None, scanned_at=None, device=None, **extra):
        body = {"nonce": nonce or uuid.uuid4().hex, "token": token, "direction": direction,
                "scanned_at": (scanned_at or datetime.now(timezone.utc)).isoformat(), **extra}
        return client.post("/api/v1/scans", json=body,
                           headers={"Authorization": f"Bearer {device or device_token}"})
    return post


class Auth:
    """flaskr's ``auth`` fixture: log the test client in as a role."""

    def __init__(self, client, make):
        self.client, self.make = client, make

    def login(self, role: str, username: str | None = None):
        return login(self.client, self.make, role, username)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/office/")})


@pytest.fixture
def auth(client, make) -> Auth:
    return Auth(client, make)
