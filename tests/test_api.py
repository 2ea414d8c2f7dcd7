"""The gate scan API, through the Flask test client, on SQLite and PostgreSQL."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.extensions import db
from app.models import CategoryRuleRow, Pass, Scan
from gatepass.tokens import KeyRing, issue_static
from helpers import post_at_once

pytestmark = pytest.mark.both_databases

ALL_CODES = {"OK", "BAD_FORMAT", "BAD_SIGNATURE", "UNKNOWN_KEY", "KEY_RETIRED", "STALE",
             "NOT_YET_VALID", "EXPIRED", "SUSPENDED", "REVOKED", "SUPERSEDED", "OUTSIDE_HOURS",
             "GATE_NOT_ALLOWED", "ALREADY_INSIDE", "ALREADY_OUTSIDE", "UNKNOWN_PASS",
             "IN_QUARANTINE", "FEVER", "TEMPERATURE_REQUIRED", "HEALTH_CERTIFICATE"}


def scan_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Scan.id)))


def set_pass(app, pass_id, **fields):
    with app.app_context():
        p = db.session.get(Pass, pass_id)
        for k, v in fields.items():
            setattr(p, k, v)
        db.session.commit()


def set_rule(app, category, hours="", gates="", anti_passback=True, temperature_required=False):
    with app.app_context():
        db.session.merge(CategoryRuleRow(category=category, hours=hours, gates=gates,
                                         anti_passback=anti_passback,
                                         temperature_required=temperature_required))
        db.session.commit()


def test_allowed_scan_response_contract(app, make, scan):
    pid = make.pass_for(name="张三丰", building="3号楼", unit="2单元", room="301")
    resp = scan(make.token(pid), "in", temperature=36.5)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["allowed"] is True and body["reason"] == "OK"
    assert body["message"] == "通过"
    assert isinstance(body["scan_id"], int)
    assert body["holder"]["name"] == "张*丰"  # masked
    assert body["holder"]["address"] == "3号楼2单元301"
    assert body["holder"]["category"] == "resident"
    assert "张三丰" not in resp.get_data(as_text=True)
    with app.app_context():
        s = db.session.get(Scan, body["scan_id"])
        assert (s.allowed, s.reason, s.pass_id, s.temperature) == (True, "OK", pid, 36.5)


def test_every_reason_code_through_the_api(app, make, scan, keys_dir, device_token):
    seen = {}

    def expect(code, resp):
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["reason"] == code, (code, body)
        assert body["allowed"] is (code == "OK")
        assert body["message"]
        seen[code] = body

    pid = make.pass_for()
    expect("OK", scan(make.token(pid), "in"))
    expect("ALREADY_INSIDE", scan(make.token(pid), "in"))
    expect("OK", scan(make.token(pid), "out"))
    expect("ALREADY_OUTSIDE", scan(make.token(pid), "out"))
    expect("BAD_FORMAT", scan("https://weixin.qq.com/r/pay-code-123"))
    good = make.token(pid)
    expect("BAD_SIGNATURE", scan(good[:-3] + ("AAA" if good[-3:] != "AAA" else "BBB"), "in"))
    other = keys_dir.parent / "foreign-keys"
    KeyRing.create_key(other, "x1")
    expect("UNKNOWN_KEY", scan(issue_static(KeyRing.load(other), pid, 1), "in"))
    expect("UNKNOWN_PASS", scan(issue_static(KeyRing.load(keys_dir), 999999, 1), "in"))

    t0 = datetime.now(timezone.utc) - timedelta(minutes=1, seconds=30)
    expect("STALE", scan(make.token(pid, dynamic=True, now=t0), "in"))

    p2 = make.pass_for()
    set_pass(app, p2, valid_from=datetime.now(timezone.utc) + timedelta(days=1))
    expect("NOT_YET_VALID", scan(make.token(p2), "in"))
    set_pass(app, p2, valid_from=None, valid_until=datetime.now(timezone.utc) - timedelta(hours=1))
    expect("EXPIRED", scan(make.token(p2), "in"))

    p3 = make.pass_for()
    set_pass(app, p3, status="suspended")
    expect("SUSPENDED", scan(make.token(p3), "in"))
    set_pass(app, p3, status="revoked")
    expect("REVOKED", scan(make.token(p3), "in"))

    p4 = make.pass_for()
    old = make.token(p4)
    set_pass(app, p4, serial=2)
    expect("SUPERSEDED", scan(old, "in"))
    expect("OK", scan(make.token(p4), "in"))

    courier = make.pass_for(category="courier")
    set_rule(app, "courier", gates="北门")
    expect("GATE_NOT_ALLOWED", scan(make.token(courier), "in"))

    sweeper = make.pass_for(category="sanitation")
    set_rule(app, "sanitation", hours="03:00-07:00")
    noon = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 Beijing
    with freeze_time(noon + timedelta(seconds=5)):
        expect("OUTSIDE_HOURS", scan(make.token(sweeper), "out", scanned_at=noon))

    expect("FEVER", scan(make.token(p4), "out", temperature=38.5))
    staff = make.pass_for(category="staff")
    set_rule(app, "staff", temperature_required=True)
    expect("TEMPERATURE_REQUIRED", scan(make.token(staff), "in"))
    returnee = make.pass_for(category="tenant")
    with app.app_context():
        db.session.get(Pass, returnee).person.quarantine_until = \
            datetime.now(timezone.utc) + timedelta(days=3)
        db.session.commit()
    expect("IN_QUARANTINE", scan(make.token(returnee), "out"))
    from gatepass.certificates import issue as issue_certificate
    expect("HEALTH_CERTIFICATE", scan("http://localhost/verify/" + issue_certificate("any", 1), "in"))

    old_text = make.token(pid)
    KeyRing.create_key(keys_dir, "k2")
    KeyRing.retire_key(keys_dir, "k1")
    expect("KEY_RETIRED", scan(old_text, "in"))

    assert set(seen) == ALL_CODES
    assert scan_count(app) == len(seen) + 2  # every scan stored (OK three times)


def test_failed_scans_are_stored_with_raw_text_and_reason(app, scan):
    long_text = "wxp://" + "x" * 1000
    body = scan(long_text).get_json()
    with app.app_context():
        s = db.session.get(Scan, body["scan_id"])
        assert (s.allowed, s.reason, s.pass_id) == (False, "BAD_FORMAT", None)
        assert s.raw_text == long_text[:200]


def test_dynamic_token_59s_ok_61s_stale(app, make, scan):
    pid = make.pass_for()
    t0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    with freeze_time(t0):
        token = make.token(pid, dynamic=True)
    with freeze_time(t0 + timedelta(seconds=59)):
        assert scan(token, "in").get_json()["reason"] == "OK"
    with freeze_time(t0 + timedelta(seconds=61)):
        assert scan(token, "out").get_json()["reason"] == "STALE"


def test_nonce_replay_returns_same_response_and_stores_one_row(app, make, scan):
    pid = make.pass_for()
    nonce, at = uuid.uuid4().hex, datetime.now(timezone.utc)
    first = scan(make.token(pid), "in", nonce=nonce, scanned_at=at).get_json()
    again = scan(make.token(pid), "in", nonce=nonce, scanned_at=at).get_json()
    assert again == first and first["reason"] == "OK"
    # and a replay never turns into ALREADY_INSIDE
    assert scan_count(app) == 1


def test_a_retry_records_the_offline_verdict_the_guard_was_shown(app, make, scan):
    """The service answered after the scanner's wait: the guard saw the offline verdict and the
    retry carries it. The log records it (one row, same answer), it is no NONCE_REUSED; a later
    retry does not overwrite it."""
    pid = make.pass_for()
    nonce, at = uuid.uuid4().hex, datetime.now(timezone.utc)
    first = scan(make.token(pid), "in", nonce=nonce, scanned_at=at)
    again = scan(make.token(pid), "in", nonce=nonce, scanned_at=at, offline_reason="OK")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    scan(make.token(pid), "in", nonce=nonce, scanned_at=at, offline_reason="FEVER")
    with app.app_context():
        rows = db.session.scalars(db.select(Scan)).all()
        assert [(r.offline_reason, r.reason) for r in rows] == [("OK", "OK")]


def test_concurrent_same_nonce_is_stored_once(app, make, device_token, backend):
    """Many workers race with one nonce: the unique constraint keeps one row."""
    pid = make.pass_for()
    token = make.token(pid)
    nonce = uuid.uuid4().hex
    body = {"nonce": nonce, "token": token, "direction": "in",
            "scanned_at": datetime.now(timezone.utc).isoformat()}
    results = post_at_once(app, "/api/v1/scans", body,
                           {"Authorization": f"Bearer {device_token}"})
    assert all(code == 200 for code, _ in results), results
    assert len({r["scan_id"] for _, r in results}) == 1
    assert {r["reason"] for _, r in results} == {"OK"}
    assert scan_count(app) == 1


def test_anti_passback_off_for_a_category(app, make, scan):
    set_rule(app, "vehicle", anti_passback=False)
    pid = make.vehicle_pass()
    assert scan(make.token(pid), "in").get_json()["reason"] == "OK"
    assert scan(make.token(pid), "in").get_json()["reason"] == "OK"


def test_hours_rule_allows_inside_window(app, make, scan):
    set_rule(app, "sanitation", hours="03:00-07:00")
    pid = make.pass_for(category="sanitation")
    at = datetime(2026, 11, 22, 20, 10, tzinfo=timezone.utc)  # 04:10 Beijing
    with freeze_time(at + timedelta(seconds=2)):
        body = scan(make.token(pid), "out", scanned_at=at).get_json()
    assert body["reason"] == "OK"


def test_late_delivery_is_recorded_without_passback_judgement(app, make, scan):
    pid = make.pass_for()
    now = datetime.now(timezone.utc)
    assert scan(make.token(pid), "in", scanned_at=now - timedelta(minutes=1)).get_json()["reason"] == "OK"
    # an offline gate delivers, an hour late, an entry made before the one above
    late = scan(make.token(pid), "in", scanned_at=now - timedelta(hours=1)).get_json()
    assert late["reason"] == "OK"
    with app.app_context():
        assert db.session.get(Pass, pid).inside is True
        assert db.session.get(Pass, pid).last_scan_at > now - timedelta(minutes=2)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}])
def test_missing_or_bad_device_token_is_401(app, client, make, headers):
    r = client.post("/api/v1/scans", json={"nonce": "n", "token": "t", "direction": "in",
                                           "scanned_at": "2026-11-23T08:00:00+08:00"},
                    headers=headers)
    assert r.status_code == 401
    assert r.get_json()["error"] == "unauthorized"
    assert scan_count(app) == 0


def test_disabled_device_is_refused(app, make, scan, device_token):
    from app.models import GateDevice
    with app.app_context():
        for d in db.session.scalars(db.select(GateDevice)):
            d.active = False
        db.session.commit()
    assert scan("x").status_code == 401


@pytest.mark.parametrize("body,needle", [
    ("{not json", "JSON"),
    ("[1, 2]", "object"),
    ('{"token": "x", "direction": "in", "scanned_at": "2026-11-23T08:00:00Z"}', "nonce"),
    ('{"nonce": "n1", "direction": "in", "scanned_at": "2026-11-23T08:00:00Z"}', "token"),
    ('{"nonce": "n1", "token": "x", "direction": "up", "scanned_at": "2026-11-23T08:00:00Z"}', "direction"),
    ('{"nonce": "n1", "token": "x", "direction": "in", "scanned_at": "yesterday"}', "ISO-8601"),
    ('{"nonce": "n1", "token": "x", "direction": "in"}', "scanned_at"),
    ('{"nonce": "n1", "token": "x", "direction": "in", "scanned_at": "2026-11-23T08:00:00Z", "temperature": "hot"}', "temperature"),
    ('{"nonce": "n1", "token": "x", "direction": "in", "scanned_at": "2026-11-23T08:00:00Z", "temperature": 99}', "temperature"),
    ('{"nonce": "' + "n" * 65 + '", "token": "x", "direction": "in", "scanned_at": "2026-11-23T08:00:00Z"}', "nonce"),
])
def test_malformed_requests_are_400_and_write_nothing(app, client, device_token, body, needle):
    r = client.post("/api/v1/scans", data=body, content_type="application/json",
                    headers={"Authorization": f"Bearer {device_token}"})
    assert r.status_code == 400
    assert needle in r.get_json()["message"]
    assert scan_count(app) == 0


def test_wrong_method_and_unknown_path_are_json(client, device_token):
    h = {"Authorization": f"Bearer {device_token}"}
    assert client.get("/api/v1/scans", headers=h).status_code == 405
    r = client.get("/api/v1/nothing", headers=h)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


def test_snapshot_lists_state_for_offline_gates(app, make, client, device_token, keys_dir):
    pid = make.pass_for(name="王小明")
    set_pass(app, pid, status="revoked")
    KeyRing.create_key(keys_dir, "k2")
    KeyRing.retire_key(keys_dir, "k1")
    h = {"Authorization": f"Bearer {device_token}"}
    r = client.get("/api/v1/gate/snapshot", headers=h)
    assert r.status_code == 200
    snap = r.get_json()
    assert snap["retired_kids"] == ["k1"]
    assert snap["passes"][str(pid)][:3] == [1, "revoked", "resident"]
    assert "王小明" not in r.get_data(as_text=True)
    again = client.get("/api/v1/gate/snapshot", headers={**h, "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/v1/gate/snapshot").status_code == 401


def test_fever_at_the_gate_is_denied_with_its_own_reason(make, scan):
    pid = make.pass_for()
    data = scan(make.token(pid), "in", temperature=38.5).get_json()
    assert (data["allowed"], data["reason"]) == (False, "FEVER")
    assert scan(make.token(pid), "in", temperature=36.6).get_json()["reason"] == "OK"
