"""Gate duty through the device API: logbook events, sign-on/off by PIN, the guard on
duty on every scan, a fever reading opening a health alert once per nonce."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from app.extensions import db
from app.duty.models import DutySession, GateEvent, Handover
from app.health.readings import HealthAlert
from app.models import Scan
from app.duty import guards as duty
from helpers import post_at_once

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _event(client, token, **body):
    body = {"nonce": uuid.uuid4().hex, "kind": "turn_away",
            "at": datetime.now(timezone.utc).isoformat(), "note": "", **body}
    return client.post("/api/v1/events", json=body, headers=_auth(token))


def _guard(app, name="赵师傅", pin="2468", **kw) -> int:
    with app.app_context():
        g = duty.add_guard(name, pin=pin, **kw)
        db.session.commit()
        return g.id


def test_event_is_stored_once_per_nonce(app, client, device_token):
    body = {"nonce": "n-1", "kind": "turn_away", "at": "2026-12-01T04:10:00+08:00",
            "note": "坚持要见朋友，劝返", "reason": "outsider"}
    first = client.post("/api/v1/events", json=body, headers=_auth(device_token))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["kind"] == "turn_away"
    again = client.post("/api/v1/events", json=body, headers=_auth(device_token))
    assert again.get_json() == first.get_json()
    with app.app_context():
        rows = db.session.scalars(db.select(GateEvent)).all()
        assert len(rows) == 1
        assert rows[0].fields == {"reason": "outsider"}
        assert rows[0].gate.name == "东门"
        assert rows[0].at == datetime(2026, 11, 30, 20, 10, tzinfo=timezone.utc)


def test_the_same_nonce_from_another_device_is_another_event(app, client, make):
    a, b = make.device("东门"), make.device("北门")
    body = {"nonce": "same", "kind": "courier", "at": "2026-12-01T10:00:00Z", "note": "",
            "company": "顺丰", "parcels": 3, "disinfected": True, "handed_to": "货架"}
    ra = client.post("/api/v1/events", json=body, headers=_auth(a)).get_json()
    rb = client.post("/api/v1/events", json=body, headers=_auth(b)).get_json()
    assert ra["event_id"] != rb["event_id"]


@pytest.mark.parametrize("body, word", [
    ({"kind": "party"}, "kind"),
    ({"nonce": ""}, "nonce"),
    ({"at": "yesterday"}, "ISO"),
    ({"at": None}, "at"),
    ({"kind": "courier", "parcels": "many"}, "parcels"),
    ({"kind": "turn_away", "reason": "bored"}, "reason"),
    ({"kind": "incident", "type": "forced_entry", "description": ["x"]}, "description"),
    ({"note": 5}, "note"),
])
def test_malformed_events_are_400_with_a_message(app, client, device_token, body, word):
    r = _event(client, device_token, **body)
    assert r.status_code == 400
    assert word in r.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 0


def test_events_need_a_device_token(client, device_token):
    assert client.post("/api/v1/events", json={}).status_code == 401
    assert _event(client, "gd_wrong").status_code == 401
    r = client.post("/api/v1/events", data="not json", headers=_auth(device_token),
                    content_type="application/json")
    assert r.status_code == 400 and r.get_json()["message"]


def test_sign_on_by_pin_then_scans_and_events_carry_the_guard(app, client, device_token, make, scan):
    gid = _guard(app)
    wrong = client.post("/api/v1/duty/sign-on", json={"pin": "0000"}, headers=_auth(device_token))
    assert wrong.status_code == 403 and wrong.get_json()["message"]
    assert client.post("/api/v1/duty/sign-on", json={"pin": 1234},
                       headers=_auth(device_token)).status_code == 400
    r = client.post("/api/v1/duty/sign-on", json={"pin": "2468"}, headers=_auth(device_token))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["guard"] == {"id": gid, "name": "赵师傅"}
    assert body["shift"] is None and body["handover"] is None

    pid = make.pass_for()
    s = scan(make.token(pid)).get_json()
    e = _event(client, device_token, kind="visitor", name="李四", host_household="3号楼301").get_json()
    with app.app_context():
        assert db.session.get(Scan, s["scan_id"]).guard_id == gid
        assert db.session.get(GateEvent, e["event_id"]).guard_id == gid


def test_the_guard_id_a_scanner_sends_wins(app, client, device_token, make, scan):
    on_duty, other = _guard(app, "甲", "1111"), _guard(app, "乙", "2222")
    client.post("/api/v1/duty/sign-on", json={"pin": "1111"}, headers=_auth(device_token))
    # (issue 15: a guard_id must be on duty at the device's gate: 乙 at the gate's 2nd scanner)
    client.post("/api/v1/duty/sign-on", json={"pin": "2222"}, headers=_auth(make.device("东门")))
    s = scan(make.token(make.pass_for()), guard_id=other).get_json()
    e = _event(client, device_token, guard_id=other).get_json()
    with app.app_context():
        assert db.session.get(Scan, s["scan_id"]).guard_id == other
        assert db.session.get(GateEvent, e["event_id"]).guard_id == other
    # an unknown or odd guard_id never costs the scan: the guard on duty is recorded
    odd = scan(make.token(make.pass_for()), guard_id="x").get_json()
    unknown = scan(make.token(make.pass_for()), guard_id=999).get_json()
    with app.app_context():
        assert db.session.get(Scan, odd["scan_id"]).guard_id == on_duty
        assert db.session.get(Scan, unknown["scan_id"]).guard_id == on_duty


def test_too_many_wrong_pins_lock_the_device_out_for_a_while(app, client, device_token):
    _guard(app, pin="97531")
    for _ in range(5):
        assert client.post("/api/v1/duty/sign-on", json={"pin": "1234"},
                           headers=_auth(device_token)).status_code == 403
    r = client.post("/api/v1/duty/sign-on", json={"pin": "97531"}, headers=_auth(device_token))
    assert r.status_code == 403 and r.get_json()["error"] == "TOO_MANY_TRIES"


def test_sign_off_drafts_the_handover_the_next_guard_sees(app, client, device_token, make, scan):
    first, second = _guard(app, "夜班 王", "1357"), _guard(app, "早班 刘", "8642")
    client.post("/api/v1/duty/sign-on", json={"pin": "1357"}, headers=_auth(device_token))
    pid = make.pass_for()
    scan(make.token(pid), "out")
    scan(make.token(pid), "in")
    scan("https://weixin.qq.com/r/xyz", "in")
    scan(make.token(make.pass_for()), "in", temperature=38.5)
    _event(client, device_token, reason="outsider")
    _event(client, device_token, kind="courier", company="京东", parcels=2)
    _event(client, device_token, kind="incident", type="abuse", description="辱骂")
    r = client.post("/api/v1/duty/sign-off", json={"guard_id": first, "note": "北侧路灯坏了",
                                                   "outbox_waiting": 3},
                    headers=_auth(device_token))
    assert r.status_code == 200, r.get_json()
    summary = r.get_json()["summary"]
    assert summary["entries"] == 1 and summary["exits"] == 1
    assert summary["denials"] == {"BAD_FORMAT": 1, "FEVER": 1} and summary["denied"] == 2
    assert summary["fevers"] == 1 and summary["turn_aways"] == 1
    assert summary["couriers"] == 1 and summary["incidents"] == 1
    assert summary["waiting_upload"] == 3

    nxt = client.post("/api/v1/duty/sign-on", json={"pin": "8642"}, headers=_auth(device_token))
    handover = nxt.get_json()["handover"]
    assert handover["id"] == r.get_json()["handover_id"]
    assert handover["from"] == "夜班 王" and handover["note"] == "北侧路灯坏了"
    assert handover["summary"]["couriers"] == 1
    with app.app_context():
        h = db.session.get(Handover, handover["id"])
        assert h.seen_by == second
        open_sessions = db.session.scalars(db.select(DutySession).where(
            DutySession.ended_at.is_(None))).all()
        assert [s.guard_id for s in open_sessions] == [second]


def test_sign_off_refuses_bad_bodies(app, client, device_token):
    gid = _guard(app)
    for body in ({}, {"guard_id": "1"}, {"guard_id": 999}, {"guard_id": gid, "note": 3},
                 {"guard_id": gid, "outbox_waiting": -1}):
        r = client.post("/api/v1/duty/sign-off", json=body, headers=_auth(device_token))
        assert r.status_code == 400, body
    assert client.post("/api/v1/duty/sign-off", json={"guard_id": gid}).status_code == 401


def test_a_fever_reading_opens_one_alert_per_nonce(app, make, scan):
    pid = make.pass_for(name="高烧者")
    token = make.token(pid)
    first = scan(token, temperature=38.5, nonce="fever-1")
    assert first.get_json()["reason"] == "FEVER" and not first.get_json()["allowed"]
    scan(token, temperature=38.5, nonce="fever-1")  # the outbox retries
    scan(token, temperature=36.6, nonce="normal")
    scan("garbage", temperature=39.0, nonce="unknown-pass")
    with app.app_context():
        alerts = db.session.scalars(db.select(HealthAlert).order_by(HealthAlert.id)).all()
        assert len(alerts) == 2
        a = alerts[0]
        assert (a.kind, a.source, a.temperature) == ("fever", "gate", 38.5)
        assert a.scan_id == first.get_json()["scan_id"] and a.pass_id == pid
        assert a.person.name == "高烧者" and a.gate.name == "东门"
        assert alerts[1].pass_id is None and alerts[1].person_id is None


def test_concurrent_events_with_one_nonce_store_one_row(app, device_token, backend):
    """The scanner's outbox and a slow link can deliver one event twice at once."""
    body = {"nonce": uuid.uuid4().hex, "kind": "incident", "at": "2026-12-01T02:00:00Z",
            "note": "冲卡", "type": "forced_entry"}
    results = post_at_once(app, "/api/v1/events", body, _auth(device_token))
    assert all(code == 200 for code, _ in results), results
    assert len({r["event_id"] for _, r in results}) == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 1


def test_sign_off_reads_waiting_scans_from_the_outbox_header(app, client, device_token):
    gid = _guard(app)
    client.post("/api/v1/duty/sign-on", json={"pin": "2468"}, headers=_auth(device_token))
    r = client.post("/api/v1/duty/sign-off", json={"guard_id": gid, "note": ""},
                    headers={**_auth(device_token), "X-Outbox-Waiting": "7"})
    assert r.get_json()["summary"]["waiting_upload"] == 7
