"""Issue 15 §4, who may say who is on duty: sign-off, guard_id on scans and events, PIN
lockout across every scanner and login, per-address limits per IPv6 /64."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.duty.models import GateEvent, Handover
from app.models import Gate, Scan, User
from app.duty import guards as duty
from helpers import csrf_token

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _guard(app, name, pin, **kw) -> int:
    with app.app_context():
        g = duty.add_guard(name, pin=pin, **kw)
        db.session.commit()
        return g.id


def _sign_on(client, token, pin):
    r = client.post("/api/v1/duty/sign-on", json={"pin": pin}, headers=_auth(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["guard"]["id"]


def _gate_id(app, name) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Gate.id).where(Gate.name == name))


# -- sign-off --------------------------------------------------------------------

def test_a_scanner_signs_off_only_a_guard_on_duty_at_its_gate(app, client, make):
    east, north = make.device("东门"), make.device("北门")
    wang = _guard(app, "王师傅", "1357")
    _sign_on(client, north, "1357")
    r = client.post("/api/v1/duty/sign-off", json={"guard_id": wang, "note": "伪造"},
                    headers=_auth(east))
    assert r.status_code == 403 and r.get_json()["error"] == "NOT_ON_DUTY"
    assert "王师傅" in r.get_json()["message_zh"]
    r = client.post("/api/v1/duty/sign-off", json={"guard_id": wang}, headers=_auth(north))
    assert r.status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Handover.id))) == 1


def test_on_the_gate_page_a_guard_signs_off_only_themselves(app, client, auth, make):
    make.device("东门")
    gid = _gate_id(app, "东门")
    auth.login("guard", "zhao")
    make.user("qian", "guard")
    with app.app_context():
        ids = {u: db.session.scalar(db.select(User.id).where(User.username == u))
               for u in ("zhao", "qian")}
        zhao = duty.add_guard("赵师傅", user_id=ids["zhao"])
        qian = duty.add_guard("钱师傅", user_id=ids["qian"])
        sun = duty.add_guard("孙志愿者", kind="volunteer", pin="5555")
        gate = db.session.get(Gate, gid)
        for g, via in ((zhao, "login"), (qian, "login"), (sun, "pin")):
            duty.sign_on(g, gate, None, via)
        db.session.commit()
        zhao_id, qian_id, sun_id = zhao.id, qian.id, sun.id
    token = csrf_token(client, f"/office/gate?gate={gid}")

    def off(guard_id):
        return client.post("/office/gate/sign-off", data={"csrf_token": token, "gate_id": gid,
                                                          "guard_id": guard_id, "note": ""},
                           follow_redirects=True)

    refused = off(qian_id)
    assert "只能为自己交班" in refused.get_data(as_text=True)
    assert "已下岗" not in off(qian_id).get_data(as_text=True)
    assert "已下岗" in off(sun_id).get_data(as_text=True)  # signed on by PIN at this tablet
    assert "已下岗" in off(zhao_id).get_data(as_text=True)
    assert "未在东门上岗" in off(zhao_id).get_data(as_text=True)  # not on duty any more
    auth.logout()
    auth.login("office")
    token = csrf_token(client, f"/office/gate?gate={gid}")
    assert "已下岗" in off(qian_id).get_data(as_text=True)
    with app.app_context():
        assert sorted(db.session.scalars(db.select(Handover.guard_id))) == \
            sorted([sun_id, zhao_id, qian_id])


# -- guard_id on scans and events ------------------------------------------------

def test_an_event_guard_id_must_be_on_duty_at_the_devices_gate(app, client, make):
    east, north = make.device("东门"), make.device("北门")
    li = _guard(app, "李师傅", "2468")
    _sign_on(client, north, "2468")
    body = {"nonce": uuid.uuid4().hex, "kind": "courier", "guard_id": li,
            "at": datetime.now(timezone.utc).isoformat()}
    r = client.post("/api/v1/events", json=body, headers=_auth(east))
    assert r.status_code == 400 and r.get_json()["error"] == "GUARD_NOT_ON_DUTY"
    r = client.post("/api/v1/events", json=body, headers=_auth(north))
    assert r.status_code == 200
    # delivered late from the outbox: the guard was on duty when it happened
    r = client.post("/api/v1/duty/sign-off", json={"guard_id": li}, headers=_auth(north))
    assert r.status_code == 200
    late = {**body, "nonce": uuid.uuid4().hex,
            "at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()}
    assert client.post("/api/v1/events", json=late, headers=_auth(north)).status_code == 200
    week_ago = {**body, "nonce": uuid.uuid4().hex,
                "at": (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()}
    assert client.post("/api/v1/events", json=week_ago, headers=_auth(north)).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 2


def test_a_scan_is_never_stamped_with_a_guard_off_duty_at_its_gate(app, client, make, scan):
    east, north = make.device("东门"), make.device("北门")
    zhou, wu = _guard(app, "周师傅", "1111"), _guard(app, "吴师傅", "2222")
    _sign_on(client, east, "1111")
    _sign_on(client, north, "2222")
    token = make.token(make.pass_for())
    r = scan(token, "in", device=east, guard_id=wu)  # 吴 is on duty at 北门, not here
    assert r.status_code == 200 and r.get_json()["allowed"]  # a passage is never refused
    assert scan(token, "out", device=east, guard_id=zhou).status_code == 200
    with app.app_context():
        stamped = db.session.scalars(db.select(Scan.guard_id).order_by(Scan.id)).all()
    assert stamped == [zhou, zhou]


# -- PIN lockout across every scanner and login ----------------------------------

def test_wrong_pins_are_counted_across_every_scanner_and_login(app, client, make):
    _guard(app, "郑师傅", "8642")
    devices = [make.device(g) for g in ("东门", "北门", "西门", "南门")]
    codes = []
    for pin in range(1000, 1000 + duty.PIN_TRIES_ALL):
        device = devices[pin % len(devices)]  # 4 per scanner: under its own limit
        codes.append(client.post("/api/v1/duty/sign-on", json={"pin": str(pin)},
                                 headers=_auth(device)).get_json()["error"])
    assert set(codes) == {"WRONG_PIN"}
    fresh = make.device("后门")
    r = client.post("/api/v1/duty/sign-on", json={"pin": "8642"}, headers=_auth(fresh))
    assert r.status_code == 403 and r.get_json()["error"] == "TOO_MANY_TRIES"


# -- per-address limits: an IPv6 /64 is one address ------------------------------

def test_addresses_of_one_ipv6_64_share_one_budget(app, client):
    app.config["ENROLL_LIMIT"] = "3 per minute"

    def enroll(address):
        return client.post("/api/v1/enroll", json={"code": "x" * 32},
                           environ_base={"REMOTE_ADDR": address}).status_code

    codes = [enroll(f"2001:db8:1:2::{n:x}") for n in range(1, 9)]
    assert codes == [403] * 3 + [429] * 5
    assert enroll("2001:db8:1:3::1") == 403  # the next /64 is somebody else
    assert [enroll(f"192.0.2.{n}") for n in (1, 2, 3, 4)] == [403] * 4  # IPv4: per address
    assert [enroll("::ffff:192.0.2.1") for _ in range(3)] == [403, 403, 429]  # = 192.0.2.1


def test_login_throttle_counts_an_ipv6_64_as_one_address(app, client, make):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "4 per 5 minutes"
    make.user("office-1", "office")
    token = csrf_token(client)
    codes = [client.post("/login", data={"username": f"nobody{n}", "password": "x",
                                         "csrf_token": token},
                         environ_base={"REMOTE_ADDR": f"2001:db8:5:6:{n:x}::1"}).status_code
             for n in range(1, 7)]
    assert 429 not in codes[:4] and codes[4:] == [429, 429]
