"""Key rings per community through the service: signing, scans, enrolment, the snapshot, the
offline scanner fed by a real snapshot, sub-district-wide passes and the ``keys`` CLI.

One sub-district (东湖街道) with communities c1 (the default, keys in KEYS_DIR) and c2 (keys in
KEYS_DIR/c2/), and c3 of another sub-district. SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import stat
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Pass, Person, Scan
from app.models.communities import Community
from app.services import keys as key_service
from app.services.devices import create_device, new_enrolment
from app.services.issuing import issue_pass, static_token
from app.services.subdistrict_passes import issue_subdistrict_pass
from app.tenancy import default_community, system_scope, use_scope
from gatepass.tokens import Key, KeyRing, issue_static
from scanner.offline import OfflineJudge, SnapshotStore
from scanner.runner import _make_chain

pytestmark = pytest.mark.both_databases

SD = "东湖街道"


@contextmanager
def inside(app, community_id: int):
    """An app context writing into (and reading only) ``community_id``."""
    with app.app_context(), use_scope({community_id}, write_id=community_id):
        yield


def _person_pass(app, community_id: int, name: str) -> int:
    with inside(app, community_id):
        person = Person(name=name, category="staff", phone=f"139{uuid.uuid4().int % 10**8:08d}")
        db.session.add(person)
        db.session.flush()
        p = issue_pass(person)
        db.session.commit()
        return p.id


def _device(app, community_id: int, gate: str) -> str:
    with inside(app, community_id):
        _device_row, token = create_device(gate)
        db.session.commit()
        return token


def _token(app, pass_id: int) -> str:
    with app.app_context(), system_scope():
        return static_token(db.session.get(Pass, pass_id))


@pytest.fixture
def town(app):
    """Communities, one device and one pass each; ids and device tokens by community code."""
    with app.app_context():
        c1 = default_community()
        c1.subdistrict = SD
        c2 = Community(code="c2", name="二社区", subdistrict=SD)
        c3 = Community(code="c3", name="三社区", subdistrict="西山街道")
        db.session.add_all([c2, c3])
        db.session.commit()
        ids = {"c1": c1.id, "c2": c2.id, "c3": c3.id}
    with app.app_context():
        key_service.forget_owners()
    out = {"ids": ids, "device": {}, "pass": {}}
    for code, gate in (("c1", "东门"), ("c2", "北门"), ("c3", "西门")):
        out["device"][code] = _device(app, ids[code], gate)
        out["pass"][code] = _person_pass(app, ids[code], f"居民{code}")
        _token(app, out["pass"][code])  # the community's first key, made on first use
    return out


@pytest.fixture
def scan(client):
    """POST one scan as the gate whose device token is given."""
    def post(token, direction="in", device=None):
        body = {"nonce": uuid.uuid4().hex, "token": token, "direction": direction,
                "scanned_at": datetime.now(timezone.utc).isoformat()}
        return client.post("/api/v1/scans", json=body,
                           headers={"Authorization": f"Bearer {device}"})
    return post


def _kid(token: str) -> str:
    return token.split(".")[1]


def test_each_community_signs_with_its_own_ring_in_its_own_directory(app, town):
    keys_dir = Path(app.config["KEYS_DIR"])
    kids = {code: _kid(_token(app, pid)) for code, pid in town["pass"].items()}
    assert kids["c1"] == "k1"  # the default community keeps KEYS_DIR, as before
    assert len(set(kids.values())) == 3  # unique across every ring
    for code in ("c2", "c3"):
        ring_dir = keys_dir / code
        assert stat.S_IMODE(ring_dir.stat().st_mode) == 0o700
        key_file = ring_dir / f"{kids[code]}.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (keys_dir / "c1").exists()


def test_a_pass_of_another_community_is_other_community_online(app, town, scan):
    a_token = _token(app, town["pass"]["c1"])
    body = scan(a_token, device=town["device"]["c2"]).get_json()
    assert (body["allowed"], body["reason"]) == (False, "OTHER_COMMUNITY")
    assert body["pass_id"] is None and body["holder"] is None  # nothing of A's pass leaks
    assert body["message"] == "非本社区通行证"
    with app.app_context(), system_scope():
        row = db.session.get(Scan, body["scan_id"])
        assert (row.community_id, row.pass_id) == (town["ids"]["c2"], None)
    # At its own gate it is fine; in another sub-district the kid is simply unknown.
    assert scan(a_token, device=town["device"]["c1"]).get_json()["reason"] == "OK"
    assert scan(a_token, device=town["device"]["c3"]).get_json()["reason"] == "UNKNOWN_KEY"


def test_a_key_cannot_sign_a_pass_that_b_accepts(app, town, scan):
    """A stolen laptop of c1 holds c1's ring: whatever it signs, c2's gate refuses."""
    with app.app_context(), system_scope():
        a_ring = key_service.key_ring(town["ids"]["c1"])
        b_kid = key_service.key_ring(town["ids"]["c2"]).current.kid
    b_pass = town["pass"]["c2"]
    minted = issue_static(a_ring, b_pass, 1)  # A's key, B's pass id
    assert scan(minted, device=town["device"]["c2"]).get_json()["reason"] == "OTHER_COMMUNITY"
    posing = KeyRing([Key(kid=b_kid, secret=a_ring.current.secret,
                          created=datetime.now(timezone.utc))])  # B's kid, A's secret
    got = scan(issue_static(posing, b_pass, 1), device=town["device"]["c2"]).get_json()
    assert got["reason"] == "BAD_SIGNATURE"
    assert scan(_token(app, b_pass), device=town["device"]["c2"]).get_json()["reason"] == "OK"


def test_a_pass_row_of_another_community_is_other_community(app, town, scan):
    """Even signed with this gate's own key (a ring once shared), A's pass row is not B's."""
    with app.app_context(), system_scope():
        b_ring = key_service.key_ring(town["ids"]["c2"])
    token = issue_static(b_ring, town["pass"]["c1"], 1)
    body = scan(token, device=town["device"]["c2"]).get_json()
    assert (body["reason"], body["pass_id"], body["holder"]) == ("OTHER_COMMUNITY", None, None)
    unknown = issue_static(b_ring, 987654, 1)
    assert scan(unknown, device=town["device"]["c2"]).get_json()["reason"] == "UNKNOWN_PASS"


def _enrol(app, client, community_id: int, gate: str) -> dict:
    with inside(app, community_id):
        device, _ = create_device(gate)
        text, _expires = new_enrolment(device, "http://localhost")
        db.session.commit()
    code = text.split(":", 1)[1].split("?", 1)[0]
    resp = client.post("/api/v1/enroll", json={"code": code})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_enrolment_hands_out_only_the_gates_community_ring(app, town, client):
    _token(app, town["pass"]["c2"])  # c2's first key
    with app.app_context(), system_scope():
        issue_subdistrict_pass(SD, "王干部")
        db.session.commit()
        rings = {code: {k.kid for k in key_service.key_ring(cid)}
                 for code, cid in town["ids"].items()}
        sd_kids = {k.kid for k in key_service.key_ring(
            key_service.subdistrict_ring_owner(town["ids"]["c2"]).id)}
    got = {k["kid"] for k in _enrol(app, client, town["ids"]["c2"], "南门")["keys"]}
    assert got == rings["c2"] and got.isdisjoint(rings["c1"] | rings["c3"] | sd_kids)
    got = {k["kid"] for k in _enrol(app, client, town["ids"]["c1"], "东二门")["keys"]}
    assert got == rings["c1"]


def _snapshot(client, device_token: str) -> dict:
    resp = client.get("/api/v1/gate/snapshot", headers={"Authorization": f"Bearer {device_token}"})
    assert resp.status_code == 200
    return resp.get_json()


def test_snapshot_names_neighbours_kids_and_the_sub_districts_but_no_secrets(app, town, client):
    for pid in town["pass"].values():
        _token(app, pid)  # every community's first key
    with app.app_context(), system_scope():
        district_pass = issue_subdistrict_pass(SD, "李清洁", category="sanitation").id
        db.session.commit()
    snap = _snapshot(client, town["device"]["c2"])
    c1_kid, c3_kid = (_kid(_token(app, town["pass"][c])) for c in ("c1", "c3"))
    sd_kid = _kid(_token(app, district_pass))
    assert snap["community_kids"] == {c1_kid: "c1"}  # not c3: another sub-district
    assert snap["online_only_kids"] == [sd_kid]
    assert set(snap["passes"]) == {str(town["pass"]["c2"]), str(district_pass)}
    assert "secret" not in str(snap)


def test_offline_scanner_fed_by_the_real_snapshot(app, town, client, tmp_path):
    """The gate of c2 after enrolment and one snapshot, then the network goes down."""
    _token(app, town["pass"]["c1"])
    with app.app_context(), system_scope():
        district_pass = issue_subdistrict_pass(SD, "赵干部").id
        db.session.commit()
    enrolled = _enrol(app, client, town["ids"]["c2"], "南门")
    ring = KeyRing([Key(kid=k["kid"], secret=bytes.fromhex(k["secret"]),
                        created=datetime.fromisoformat(k["created"])) for k in enrolled["keys"]])
    store = SnapshotStore(tmp_path / "snap.json", "http://localhost")
    store.replace(_snapshot(client, enrolled["device_token"]), "e1")
    judge = OfflineJudge(ring, store)
    assert judge.judge(_token(app, town["pass"]["c2"]), "in").reason == "OK"
    other = judge.judge(_token(app, town["pass"]["c1"]), "in")
    assert (other.allowed, other.reason, other.holder) == (False, "OTHER_COMMUNITY", None)
    assert judge.judge(_token(app, district_pass), "in").reason == "ONLINE_ONLY"
    assert judge.judge(_token(app, town["pass"]["c3"]), "in").reason == "UNKNOWN_KEY"
    # what the decoder chain asks of a corrected (soft-decoded) read before the guard sees it
    own = _token(app, town["pass"]["c2"])
    tampered = own[:-1] + ("A" if own[-1] != "A" else "B")
    assert judge.signature_holds(own) and judge.signature_holds(_token(app, district_pass))
    assert not any(judge.signature_holds(t) for t in (
        tampered, _token(app, town["pass"]["c1"]), _token(app, town["pass"]["c3"]), "S.x.1.1.x"))
    # ... and of an unsure one (a code at its redundancy's edge): the gate's own keys only
    assert judge.signature_verified(own)
    assert not any(judge.signature_verified(t) for t in (
        _token(app, district_pass), tampered, _token(app, town["pass"]["c1"]),
        _token(app, town["pass"]["c3"]), "S.x.1.1.x"))
    chain = _make_chain(judge)  # the live gate's chain asks exactly these
    assert chain.confirm(_token(app, district_pass)) and not chain.verify(_token(app, district_pass))
    assert chain.verify(own) and not chain.confirm(tampered)


def test_a_sub_district_pass_is_accepted_at_two_communities_gates(app, town, scan):
    with app.app_context(), system_scope():
        p = issue_subdistrict_pass(SD, "孙干部", days=7)
        db.session.commit()
        pid, district_id = p.id, p.community_id
    assert district_id not in town["ids"].values()
    token = _token(app, pid)
    first = scan(token, "in", device=town["device"]["c1"]).get_json()
    second = scan(token, "in", device=town["device"]["c2"]).get_json()  # no anti-passback
    assert (first["reason"], second["reason"]) == ("OK", "OK")
    assert first["holder"]["category"] == "staff"
    assert scan(token, "in", device=town["device"]["c3"]).get_json()["reason"] == "UNKNOWN_KEY"
    with app.app_context(), system_scope():
        logged = {db.session.get(Scan, s["scan_id"]).community_id for s in (first, second)}
    assert logged == {town["ids"]["c1"], town["ids"]["c2"]}  # each in the gate's community


def test_keys_cli_acts_on_one_community_and_keeps_kids_unique(app, town):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["keys", "list"])
    assert r.exit_code != 0 and "--community" in r.output  # several: say which
    r = runner.invoke(args=["keys", "create", "--community", "c2"])
    assert r.exit_code == 0, r.output
    made = r.output.split()[2]
    assert (Path(app.config["KEYS_DIR"]) / "c2" / f"{made}.key").exists()
    r = runner.invoke(args=["keys", "create", "--kid", "k1", "--community", "c2"])
    assert r.exit_code != 0 and "exists" in r.output  # k1 is c1's
    r = runner.invoke(args=["keys", "list", "--community", "c2"])
    assert made in r.output and "k1 " not in r.output
    r = runner.invoke(args=["keys", "retire", "k1", "--community", "c2"])
    assert r.exit_code != 0  # not c2's key: c1's passes stay good
    r = runner.invoke(args=["keys", "rotate", "--community", "c1"])
    assert r.exit_code == 0 and "created key" in r.output
    files = [f.stem for f in Path(app.config["KEYS_DIR"]).glob("**/*.key")]
    assert len(files) == len(set(files)) == 5  # k1-k3 by the fixture, then two more


def test_passes_issue_subdistrict_cli(app, town):
    r = app.test_cli_runner().invoke(args=["passes", "issue-subdistrict", "周干部",
                                           "--subdistrict", SD, "--days", "3"])
    assert r.exit_code == 0, r.output
    assert "sub-district pass" in r.output and "GPS." in r.output
    r = app.test_cli_runner().invoke(args=["passes", "issue-subdistrict", "周干部",
                                           "--subdistrict", "无此街道"])
    assert r.exit_code != 0 and "no community belongs" in r.output


def _log_in(app, client, username: str, role: str, community_id: int | None = None):
    from app.models import User
    from helpers import csrf_token
    with app.app_context(), system_scope():
        u = User(username=username, role=role, display_name=username,
                 subdistrict=SD if role == "district" else "", community_id=community_id)
        u.set_password("pw-" + "x" * 8)
        db.session.add(u)
        db.session.commit()
    resp = client.post("/login", data={"username": username, "password": "pw-" + "x" * 8,
                                       "csrf_token": csrf_token(client)})
    assert resp.status_code == 302


def test_the_district_page_issues_sub_district_passes(app, town, client, scan):
    from helpers import csrf_token
    _log_in(app, client, "jiedao", "district")
    url = "/office/subdistrict-passes"
    resp = client.post(url, data={"csrf_token": csrf_token(client, url), "name": "钱干部",
                                  "category": "sanitation", "days": "14"})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "钱干部" in page
    with app.app_context(), system_scope():
        p = db.session.scalar(db.select(Pass).join(Person).where(Person.name == "钱干部"))
        pid, valid_until = p.id, p.valid_until
    assert 13 <= (valid_until - datetime.now(timezone.utc)).days <= 14
    svg = client.get(f"{url}/{pid}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    for device in (town["device"]["c1"], town["device"]["c2"]):
        assert scan(_token(app, pid), device=device).get_json()["reason"] == "OK"


@pytest.mark.parametrize("role", ["admin", "office"])
def test_community_staff_may_not_issue_sub_district_passes(app, town, client, role):
    _log_in(app, client, f"{role}-c1", role, town["ids"]["c1"])
    assert client.get("/office/subdistrict-passes").status_code == 403


def test_a_neighbours_key_made_a_moment_ago_is_already_other_community(app, town, scan):
    """The neighbours' kids are cached for seconds; an unknown kid is looked up afresh."""
    own = scan(_token(app, town["pass"]["c2"]), device=town["device"]["c2"]).get_json()
    assert own["reason"] == "OK"  # c2's gate has its rings and neighbours cached now
    with app.app_context(), system_scope():
        key_service.create_key(rotate=True, community=town["ids"]["c1"])
    fresh = _token(app, town["pass"]["c1"])  # signed with c1's new key
    assert scan(fresh, device=town["device"]["c2"]).get_json()["reason"] == "OTHER_COMMUNITY"
