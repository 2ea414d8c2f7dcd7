"""Gate devices: one-time setup QR (page and CLI), POST /api/v1/enroll, what scanners
report, disable and token rotation; the key-compromise drill; the audit trail."""
import html
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest
import zxingcpp
from freezegun import freeze_time
from PIL import Image

from app.extensions import db
from app.duty.models import Place
from app.models import AuditEntry, GateDevice, Pass
from helpers import csrf_token

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

SETUP = re.compile(r"gatepass-enroll:([A-Za-z0-9_-]{32})\?server=([^<\s\"]+)")


def new_device_on_page(client, gate="东门"):
    r = client.post("/office/devices", data={"gate": gate, "name": "",
                                            "csrf_token": csrf_token(client, "/office/devices")})
    assert r.status_code == 200, r.status_code
    page = html.unescape(r.get_data(as_text=True))
    assert "<svg" in page
    m = SETUP.search(page)
    assert m, page[:2000]
    return m.group(1), unquote(m.group(2))


def enroll(client, code, **extra):
    return client.post("/api/v1/enroll", json={"code": code, **extra})


def bearer(token, version=None, waiting=None):
    h = {"Authorization": f"Bearer {token}"}
    if version:
        h["X-Scanner-Version"] = version
    if waiting is not None:
        h["X-Outbox-Waiting"] = str(waiting)
    return h


def test_setup_qr_from_the_page_works_once_and_gives_token_and_keys(app, client, auth, keys_dir):
    auth.login("admin")
    code, server = new_device_on_page(client)
    assert server == "http://localhost"
    r = enroll(client, code, scanner_version="0.9.1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["gate"] == "东门" and isinstance(body["device_id"], int) and body["device_name"]
    [key] = body["keys"]
    assert set(key) == {"kid", "secret", "created", "retired"} and key["kid"] == "k1"
    assert len(bytes.fromhex(key["secret"])) == 32 and key["retired"] is None
    ping = client.get("/api/v1/ping", headers=bearer(body["device_token"]))
    assert ping.status_code == 200 and ping.get_json()["gate"] == "东门"
    again = enroll(client, code)
    assert again.status_code == 403 and again.get_json()["message"]
    with app.app_context():
        d = db.session.get(GateDevice, body["device_id"])
        assert d.scanner_version == "0.9.1"
        # only hashes are stored
        from app.models import EnrolmentCode
        assert all(code not in (c.code_hash or "") for c in db.session.scalars(db.select(EnrolmentCode)))


def test_setup_code_expires_after_ten_minutes(app, client, auth):
    auth.login("admin")
    code, _ = new_device_on_page(client)
    with freeze_time(datetime.now(timezone.utc) + timedelta(minutes=10, seconds=5)):
        r = enroll(client, code)
    assert r.status_code == 403


@pytest.mark.parametrize("body", ['{"code": 5}', "[]", "{bad", '{"code": "a\\u0000b"}', '{}'])
def test_malformed_enrolment_is_400(client, body):
    r = client.post("/api/v1/enroll", data=body, content_type="application/json")
    assert r.status_code == 400 and r.get_json()["message"]


def test_unknown_code_is_403(client):
    r = enroll(client, "x" * 32)
    assert r.status_code == 403 and r.get_json()["error"] == "ENROL_REFUSED"


def test_cli_writes_the_same_kind_of_setup_qr(app, runner, client, tmp_path):
    out = tmp_path / "setup.png"
    r = runner.invoke(args=["devices", "enroll", "--gate", "东门", "-o", str(out),
                            "--server", "https://pass.example.org"])
    assert r.exit_code == 0, r.output
    [found] = zxingcpp.read_barcodes(Image.open(out), formats=zxingcpp.BarcodeFormat.QRCode)
    m = SETUP.fullmatch(found.text)
    assert m and unquote(m.group(2)) == "https://pass.example.org"
    assert enroll(client, m.group(1)).status_code == 200
    assert enroll(client, m.group(1)).status_code == 403


def test_devices_page_shows_reports_and_can_disable_and_rotate(app, client, auth, make):
    token = make.device("北门")
    assert client.get("/api/v1/ping", headers=bearer(token, "1.4.0", 17)).status_code == 200
    auth.login("admin")
    page = client.get("/office/devices").get_data(as_text=True)
    assert "1.4.0" in page and "17" in page
    with app.app_context():
        device_id = db.session.scalar(db.select(GateDevice.id))
    r = client.post(f"/office/devices/{device_id}/rotate",
                    data={"csrf_token": csrf_token(client, "/office/devices")})
    new = re.search(r'value="(gd_[^"]+)"', r.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/ping", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/ping", headers=bearer(new)).status_code == 200
    client.post(f"/office/devices/{device_id}/disable",
                data={"csrf_token": csrf_token(client, "/office/devices")})
    assert client.get("/api/v1/ping", headers=bearer(new)).status_code == 401
    # a disabled device cannot be re-enrolled by an old QR either
    assert client.get("/office/devices").status_code == 200


def test_devices_and_audit_pages_are_for_admins_only(client, auth):
    auth.login("office")
    assert client.get("/office/devices").status_code == 403
    assert client.get("/office/audit").status_code == 403
    assert client.get("/office/audit/export.csv").status_code == 403


def test_key_compromise_drill(app, runner, client, make, scan, auth, tmp_path):
    """A gate laptop is lost: rotate, reprint, retire, disable."""
    printed = [make.pass_for(name=f"住户{i}") for i in range(3)]
    cards = {pid: make.token(pid) for pid in printed}
    r = runner.invoke(args=["passes", "print", "--all", "-o", str(tmp_path / "all.pdf")])
    assert r.exit_code == 0, r.output
    unprinted = make.pass_for(name="没打印")
    assert runner.invoke(args=["passes", "list", "--reprint"]).output.startswith("0 active")

    assert "k2" in runner.invoke(args=["keys", "rotate"]).output
    # phone passes are drawn with the new key at once
    assert make.token(printed[0], dynamic=True).startswith("GPD.k2.")
    # the office gets the cards to reprint: the printed ones, not the never-printed one
    listing = runner.invoke(args=["passes", "list", "--reprint"]).output
    assert "3 active passes" in listing
    auth.login("office")
    page = client.get("/office/reprint").get_data(as_text=True)
    with app.app_context():
        codes = {pid: db.session.get(Pass, pid).code for pid in printed + [unprinted]}
    assert all(codes[p] in page for p in printed) and codes[unprinted] not in page

    assert runner.invoke(args=["keys", "retire", "k1"]).exit_code == 0
    # the service denies the old key id at once
    assert scan(cards[printed[0]]).get_json()["reason"] == "KEY_RETIRED"
    # the gates learn it from their next snapshot
    snap = client.get("/api/v1/gate/snapshot", headers=bearer(make.device("西门"))).get_json()
    assert snap["retired_kids"] == ["k1"]
    # a phone pass drawn now is allowed
    assert scan(make.token(printed[1], dynamic=True)).get_json()["reason"] == "OK"
    # reprinted cards carry k2 and leave the list
    r = client.post("/office/reprint", data={"csrf_token": csrf_token(client, "/office/reprint")})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "没有需要重新打印" in client.get("/office/reprint").get_data(as_text=True)
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEntry.action)))
    assert {"keys.rotate", "keys.retire", "pass.print"} <= actions


def test_office_actions_are_in_the_audit_log_and_its_csv(app, client, auth, make, runner):
    pid = make.pass_for()
    auth.login("office", "wang")
    for action in ("suspend", "reinstate", "reissue", "revoke"):
        client.post(f"/office/passes/{pid}/{action}",
                    data={"csrf_token": csrf_token(client, f"/office/passes/{pid}")})
    client.post("/office/rules", data={"category": "sanitation", "hours": "03:00-07:00",
                                       "gates": "", "anti_passback": "y",
                                       "csrf_token": csrf_token(client, "/office/rules")})
    runner.invoke(args=["devices", "create", "--gate", "南门"])
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)).all()
        got = [(e.username, e.action, e.target) for e in rows]
    for action in ("pass.suspend", "pass.reinstate", "pass.reissue", "pass.revoke"):
        assert ("wang", action, f"pass:{pid}") in got, got
    assert ("wang", "rules.set", "category:sanitation") in got
    assert any(u == "cli" and a == "device.create" for u, a, _t in got)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    auth.login("admin")
    page = client.get("/office/audit").get_data(as_text=True)
    assert "pass.revoke" in page and "wang" in page
    csv = client.get("/office/audit/export.csv?action=pass.")
    text = csv.get_data(as_text=True)
    assert csv.headers["Content-Disposition"].startswith("attachment")
    assert "pass.reissue" in text and "rules.set" not in text


def test_every_card_leaving_the_office_is_on_the_reprint_list_after_a_rotation(app, runner, client, make,
                                                                               auth, keys_dir):
    """Pass-page PNG/SVG downloads record their key like batch print; a pass whose card's key is
    unknown ("?", what migration c15000000002 leaves on older passes) counts as old once a
    rotation happened; a pass never made into a card (NULL) does not."""
    png, svg, unknown, never = (make.pass_for(name=n) for n in ("下载PNG", "下载SVG", "旧卡片", "没出卡"))
    with app.app_context():
        db.session.get(Pass, unknown).printed_kid = "?"
        db.session.commit()
    auth.login("office")
    assert client.get(f"/office/passes/{png}/qr.png").mimetype == "image/png"
    assert client.get(f"/office/passes/{svg}/qr.svg").mimetype == "image/svg+xml"
    with app.app_context():
        kids = {pid: db.session.get(Pass, pid).printed_kid for pid in (png, svg, unknown, never)}
        codes = {pid: db.session.get(Pass, pid).code for pid in (png, svg, unknown, never)}
    assert kids == {png: "k1", svg: "k1", unknown: "?", never: None}
    assert runner.invoke(args=["passes", "list", "--reprint"]).output.startswith("0 active")

    assert "k2" in runner.invoke(args=["keys", "rotate"]).output
    listing = runner.invoke(args=["passes", "list", "--reprint"]).output
    assert "3 active passes" in listing
    page = client.get("/office/reprint").get_data(as_text=True)
    assert all(codes[p] in page for p in (png, svg, unknown)) and codes[never] not in page
    assert "未记录" in page  # the unknown key, said as such
    # the reprint records k2 and empties the list
    r = client.post("/office/reprint", data={"csrf_token": csrf_token(client, "/office/reprint")})
    assert r.mimetype == "application/pdf"
    assert runner.invoke(args=["passes", "list", "--reprint"]).output.startswith("0 active")


def test_a_typed_code_is_judged_by_the_key_its_card_was_printed_with(app, client, auth, make, runner,
                                                                    tmp_path):
    """The typed code of a card printed with a key now retired says KEY_RETIRED, like its QR, not
    通过 (it was judged as a freshly signed token); every typed answer says it was by number."""
    auth.login("office")
    token = csrf_token(client, "/office/places")
    client.post("/office/places", data={"csrf_token": token, "name": "三号院", "every": "4"})
    with app.app_context():
        place = db.session.scalar(db.select(Place.id).where(Place.name == "三号院"))
    old, fresh = make.pass_for(name="旧卡人"), make.pass_for(name="新卡人")
    assert runner.invoke(args=["passes", "print", "--all", "-o", str(tmp_path / "k1.pdf")]).exit_code == 0
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", "k1"]).exit_code == 0
    with app.app_context():
        codes = {pid: db.session.get(Pass, pid).code for pid in (old, fresh)}
        db.session.get(Pass, fresh).printed_kid = "k2"  # its card was reprinted with k2
        db.session.commit()
    spot = client.get("/office/spot").get_data(as_text=True)
    h = {"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', spot).group(1)}

    def typed(nonce, pid):
        return client.post("/office/spot/checks", json={"nonce": nonce, "place_id": place,
                                                        "text": codes[pid]}, headers=h).get_json()
    retired = typed("t1", old)
    assert (retired["allowed"], retired["reason"], retired["typed"]) == (False, "KEY_RETIRED", True)
    ok = typed("t2", fresh)
    assert (ok["allowed"], ok["reason"], ok["typed"]) == (True, "OK", True)
    scanned = client.post("/office/spot/checks", json={"nonce": "t3", "place_id": place,
                                                       "text": make.token(fresh)}, headers=h).get_json()
    assert scanned["typed"] is False


def test_services_write_their_audit_entries_whoever_calls_them(app, client, auth, make, runner,
                                                                tmp_path):
    """An action is audited by the service that does it, once, naming who asked: a view's
    user, the CLI, or (a script calling the service) the operator's shell."""
    from app.services import links, roster
    from app.services.devices import create_device
    from test_roster import csv_bytes
    make.pass_for(name="张一")
    with app.app_context():
        create_device("西门")  # a script, no request: the shell did it
        "".join(links.export_links("https://pass.example.org"))
        row = ["人员", "9号楼", "1单元", "101", "周九", "13900000009", "居民", "", "", "", "", ""]
        roster.import_roster(csv_bytes([row], "utf-8"), "/tmp/名册.csv", create_buildings=True)
    auth.login("office", "wang")
    assert client.get("/office/links.csv").status_code == 200
    runner.invoke(args=["passes", "links", "-o", str(tmp_path / "l.csv")])  # after a request
    with app.app_context():
        got = [(e.username, e.action, e.target) for e in
               db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]
    assert [u for u, a, _t in got if a == "device.create"] == ["cli"]
    assert [(u, t) for u, a, t in got if a == "links.export"] == [
        ("cli", ""), ("wang", ""), ("cli", str(tmp_path / "l.csv")[:60])]
    assert ("cli", "roster.import", "名册.csv") in got
