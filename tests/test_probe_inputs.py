"""Issue 15 §4, bad input found by a probe: each a test that failed before its fix.

Control characters in exports, JSON nested 1,000 deep, lone surrogates and NUL bytes in
event bodies, odd query values on every GET route, event times out of bounds, and the
files the command line writes (owner-only).
"""
from __future__ import annotations

import io
import stat
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import openpyxl
import pytest
from werkzeug.datastructures import ImmutableMultiDict

from app.extensions import db
from app.duty.models import GateEvent

#: A scanned text and a note with every control character XML cannot hold (and a tab).
CONTROLS = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13)) + "\x7f"


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _event(client, token, **body):
    body = {"nonce": uuid.uuid4().hex, "kind": "turn_away", "reason": "outsider",
            "at": datetime.now(timezone.utc).isoformat(), "note": "", **body}
    return client.post("/api/v1/events", json=body, headers=_auth(token))


def _sheet_text(data: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row
                     if c.value is not None)


# -- control characters: exports escape them, the API refuses NUL ------------------

@pytest.mark.both_databases
def test_control_characters_export_cleanly_everywhere(app, client, auth, scan, device_token,
                                                      runner, tmp_path):
    assert scan("GPS" + CONTROLS, "in").status_code == 200
    assert _event(client, device_token, note="劝返" + CONTROLS).status_code == 200
    auth.login("office")
    for url in ("/office/scans/export.xlsx", "/office/logbook/export.xlsx"):
        r = client.get(url)
        assert r.status_code == 200, url
        text = _sheet_text(r.data)
        assert "\\x01" in text and "\\x1f" in text and "\x01" not in text, url
    out = tmp_path / "scans.xlsx"
    result = runner.invoke(args=["scans", "export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "GPS\\x01\\x02" in _sheet_text(out.read_bytes())
    # the CSV keeps what was scanned as it was (CSV can hold it)
    assert "\x07" in client.get("/office/scans/export.csv").get_data(as_text=True)


@pytest.mark.both_databases
@pytest.mark.parametrize("where", ["note", "name", "key"])
def test_nul_byte_anywhere_in_an_event_is_400(app, client, device_token, where):
    body = {"nonce": uuid.uuid4().hex, "kind": "visitor", "name": "王五", "host_household": "3-301",
            "direction": "in", "at": datetime.now(timezone.utc).isoformat(), "note": "ok"}
    if where == "key":
        body["x\x00"] = 1
    else:
        body[where] = "a\x00b"
    r = client.post("/api/v1/events", json=body, headers=_auth(device_token))
    assert r.status_code == 400 and "NUL" in r.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 0


@pytest.mark.both_databases
def test_lone_surrogate_in_an_event_note_is_400(app, client, device_token):
    body = ('{"nonce": "n1", "kind": "courier", "at": "%s", "note": "\\udc00 cut emoji"}'
            % datetime.now(timezone.utc).isoformat())
    r = client.post("/api/v1/events", data=body, content_type="application/json",
                    headers=_auth(device_token))
    assert r.status_code == 400 and "surrogate" in r.get_json()["message"]
    assert _event(client, device_token, note="😀 whole emoji").status_code == 200


# -- JSON nested 1,000 deep --------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/scans", "/api/v1/events", "/api/v1/enroll",
                                  "/api/v1/duty/sign-on", "/api/v1/duty/sign-off"])
@pytest.mark.parametrize("depth", [100, 1000, 100_000])
def test_deeply_nested_json_is_400(app, client, device_token, path, depth):
    body = '{"nonce": ' + "[" * depth + "]" * depth + "}"
    r = client.post(path, data=body, content_type="application/json",
                    headers=_auth(device_token))
    assert r.status_code == 400, r.data[:200]
    assert "nested" in r.get_json()["message"]


# -- events: the same time bounds as a scan ----------------------------------------

@pytest.mark.parametrize("at, why", [("0001-01-01T00:00:00", "too long ago"),
                                     ("2000-01-01T00:00:00Z", "too long ago"),
                                     ("9999-12-31T23:59:59Z", "future")])
def test_event_times_have_the_bounds_of_scanned_at(app, client, device_token, at, why):
    r = _event(client, device_token, at=at)
    assert r.status_code == 400 and why in r.get_json()["message"]
    assert _event(client, device_token,
                  at=(datetime.now(timezone.utc) - timedelta(days=3)).isoformat()).status_code == 200


# -- every GET route with odd query values -----------------------------------------

#: Query values the probe found 500s with: dates without a UTC day, ids no integer holds,
#: numbers in other spellings, bytes that are no UTF-8.
ODD_VALUES = ["0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59:59", "2026-02-30",
              "2026-W99", "1e20", "-1", "0", "99999999999999999999", "NaN", "１２", "\x00",
              "%ED%A0%80", "%FF", "9" * 400]


class _RecordingArgs(ImmutableMultiDict):
    """Query args that note which names a view asked for (the sweep's list of parameters)."""
    asked: set = set()

    def get(self, key, default=None, type=None):
        self.asked.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):
        self.asked.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def _get_routes(app) -> list[str]:
    fill = {"fmt": "csv", "filename": "app.css"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<path:{arg}>", fill.get(arg, "x"))
            url = url.replace(f"<{arg}>", fill.get(arg, "x"))
        urls.append(url)
    return sorted(urls)


def _fails(client, url: str) -> bool:
    """A 500, or (the test client re-raises) the exception that would have been one."""
    try:
        return client.get(url).status_code >= 500
    except Exception:  # noqa: BLE001 - any exception is the finding
        return True


def test_every_get_route_answers_odd_query_values_without_a_500(app, client, auth, make, scan):
    scan(make.token(make.pass_for()), "in")
    auth.login("admin")
    app.request_class.parameter_storage_class = _RecordingArgs
    try:
        asked: dict[str, set] = {}
        for url in _get_routes(app):
            _RecordingArgs.asked = set()
            assert client.get(url).status_code < 500, url
            asked[url] = _RecordingArgs.asked - {"lang"}
    finally:
        app.request_class.parameter_storage_class = ImmutableMultiDict
    assert {"day", "page", "week", "since", "q"} <= set().union(*asked.values())
    failures = []
    for url, names in asked.items():  # every parameter a view reads, all odd at once
        for value in ODD_VALUES if names else ():
            raw = value if value.startswith("%") else quote(value, safe="")
            if _fails(client, f"{url}?" + "&".join(f"{n}={raw}" for n in sorted(names))):
                failures.append(f"{url} {sorted(names)}={value[:20]!r}")
    assert failures == [], "\n".join(failures)


# -- files written by the command line are the owner's only ------------------------

def test_every_export_command_writes_an_owner_only_file(app, make, runner, tmp_path):
    make.pass_for()
    make.device("东门")
    outputs = {"links.csv": ["passes", "links", "--base-url", "https://pass.example.org", "-o"],
               "scans.csv": ["scans", "export", "-o"], "scans.xlsx": ["scans", "export", "-o"],
               "roster.xlsx": ["roster", "export"], "roster.csv": ["roster", "export"],
               "setup.png": ["devices", "enroll", "--gate", "北门", "-o"]}
    for name, args in outputs.items():
        out = tmp_path / name
        out.write_text("an older world-readable copy")
        out.chmod(0o644)
        result = runner.invoke(args=[*args, str(out)])
        assert result.exit_code == 0, (name, result.output)
        assert stat.S_IMODE(out.stat().st_mode) == 0o600, name
        assert out.read_bytes() != b"an older world-readable copy", name
