"""Gate duty pages through the Flask test client: logbook, duty week, guards, gate page,
places and spot checks, notices, phone links and the self-service page; and the CLI."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

from app.extensions import db
from app.models import CategoryRuleRow, Gate, Pass, Person, User
from app.duty.models import GateEvent, Guard, Handover, Notice, Place, Shift, SpotCheck
from app.duty import guards as duty
from helpers import csrf_token, login


def _csrf(client, url):
    return csrf_token(client, url)


def _gate_id(app, name="东门") -> int:
    with app.app_context():
        return db.session.scalar(db.select(Gate.id).where(Gate.name == name))


def _events(client, token, *bodies):
    for body in bodies:
        body = {"nonce": uuid.uuid4().hex, "at": datetime.now(timezone.utc).isoformat(), "note": "", **body}
        assert client.post("/api/v1/events", json=body,
                           headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_every_page_needs_the_right_role(client, auth, device_token):
    for url in ("/office/logbook", "/office/duty", "/office/guards", "/office/gate",
                "/office/places", "/office/spot", "/office/notices", "/office/links.csv"):
        assert client.get(url).status_code == 302, url  # to the login page
    auth.login("guard")
    assert client.get("/office/gate").status_code == 200
    assert client.get("/office/spot").status_code == 200
    assert client.get("/office/logbook").status_code == 200
    for url in ("/office/duty", "/office/guards", "/office/notices", "/office/links.csv"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_logbook_page_filters_and_exports(app, client, auth, make):
    east, north = make.device("东门"), make.device("北门")
    _events(client, east, {"kind": "turn_away", "reason": "outsider", "note": "坚持探望朋友"},
            {"kind": "courier", "company": "顺丰", "parcels": 4, "disinfected": True})
    _events(client, north, {"kind": "incident", "type": "forced_entry", "description": "=HYPERLINK()"})
    auth.login("office")
    html = client.get("/office/logbook").get_data(as_text=True)
    assert "坚持探望朋友" in html and "顺丰" in html and "冲卡闯关" in html
    html = client.get("/office/logbook?kind=courier").get_data(as_text=True)
    assert "顺丰" in html and "坚持探望朋友" not in html
    html = client.get("/office/logbook?q=顺丰").get_data(as_text=True)
    assert "顺丰" in html and "坚持探望朋友" not in html  # a word in the fields, not the note
    html = client.get("/office/logbook?q=探望").get_data(as_text=True)
    assert "坚持探望朋友" in html and "顺丰" not in html
    html = client.get(f"/office/logbook?gate={_gate_id(app, '北门')}").get_data(as_text=True)
    assert "冲卡闯关" in html and "顺丰" not in html

    r = client.get("/office/logbook/export.csv")
    text = r.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["时间", "门岗", "类型", "详情", "备注", "值班人员"]
    assert len(rows) == 4
    assert any("'=HYPERLINK" in c or "经过: =HYPERLINK" in c for row in rows for c in row)
    assert not any(c.startswith("=") for row in rows for c in row)
    x = client.get("/office/logbook/export.xlsx?kind=turn_away&lang=en")
    ws = load_workbook(io.BytesIO(x.data)).active
    values = list(ws.values)
    assert values[0][2] == "kind" and len(values) == 2
    assert values[1][2] == "Turned away" and "Outsider" in values[1][3]


def test_dashboard_counts_the_day(app, client, auth, device_token):
    _events(client, device_token, {"kind": "turn_away"}, {"kind": "turn_away"}, {"kind": "visitor"})
    with app.app_context():
        db.session.add(Place(name="六号院", check_every_hours=4))
        db.session.commit()
    auth.login("office")
    html = client.get("/office/").get_data(as_text=True)
    section = html[html.index('id="logbook-day"'):]
    assert re.search(r'data-kind="turn_away">.*?<b class="num">2</b>', section, re.S)
    assert re.search(r'data-kind="visitor">.*?<b class="num">1</b>', section, re.S)
    assert "1 个散居楼院超时未巡查" in section
    assert "当前值班：东门 无人" in section


def test_gate_page_records_events_once_per_nonce(app, client, auth, device_token):
    auth.login("guard")
    gid = _gate_id(app)
    html = client.get(f"/office/gate?gate={gid}").get_data(as_text=True)
    assert "劝返" in html and "还没有人上岗" in html
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    body = {"nonce": "tap-1", "kind": "visitor", "gate_id": gid, "at": "2026-12-01T09:00:00Z",
            "name": "王五", "host_household": "3号楼301", "direction": "in", "note": ""}
    first = client.post("/office/gate/events", json=body, headers={"X-CSRFToken": token})
    second = client.post("/office/gate/events", json=body, headers={"X-CSRFToken": token})
    assert first.status_code == 200 and second.get_json()["event_id"] == first.get_json()["event_id"]
    assert second.get_json()["created"] is False
    bad = client.post("/office/gate/events", json={**body, "nonce": "x", "kind": "party"},
                      headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and bad.get_json()["message"]
    assert bad.get_json()["error"] == "BAD_KIND"  # a refusal: the page drops it and says so
    no_csrf = client.post("/office/gate/events", json={**body, "nonce": "y"})
    # a stale page token is not a refusal of the event: outbox.js keeps it for the next page
    assert no_csrf.status_code == 400 and no_csrf.get_json()["error"] == "bad_request"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 1


def test_gate_page_sign_on_with_login_and_pin_and_handover(app, client, auth, device_token):
    auth.login("guard", "zhao")
    gid = _gate_id(app)
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.username == "zhao"))
        duty.add_guard("赵师傅", user_id=user_id)
        duty.add_guard("钱志愿者", kind="volunteer", pin="5555")
        db.session.commit()
    page = f"/office/gate?gate={gid}"
    token = _csrf(client, page)
    r = client.post("/office/gate/sign-on", data={"csrf_token": token, "gate_id": gid, "me": "1"},
                    headers={"Referer": "http://localhost" + page})
    assert r.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "赵师傅" in html and "下岗交接" in html
    _events(client, device_token, {"kind": "courier"})
    with app.app_context():
        zhao = db.session.scalar(db.select(Guard).where(Guard.name == "赵师傅"))
        assert db.session.scalar(db.select(GateEvent)).guard_id == zhao.id
        zhao_id = zhao.id
    r = client.post("/office/gate/sign-off", data={"csrf_token": token, "gate_id": gid,
                                                   "guard_id": zhao_id, "note": "东侧栏杆松动"})
    assert r.status_code == 302
    wrong = client.post("/office/gate/sign-on", data={"csrf_token": token, "gate_id": gid, "pin": "1111"},
                        headers={"Referer": "http://localhost" + page}, follow_redirects=True)
    assert "PIN 不正确" in wrong.get_data(as_text=True)
    r = client.post("/office/gate/sign-on", data={"csrf_token": token, "gate_id": gid, "pin": "5555"},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "钱志愿者 已上岗" in html
    assert "东门 钱志愿者" in client.get("/office/").get_data(as_text=True)
    assert "上一班交接" in html and "东侧栏杆松动" in html and 'class="handover card fresh"' in html
    with app.app_context():
        h = db.session.scalar(db.select(Handover))
        assert h.summary["couriers"] == 1 and h.seen_by is not None


def test_duty_week_plans_patterns_and_assigns(app, client, auth, make, runner):
    make.device("东门")
    make.device("北门")
    auth.login("office")
    token = _csrf(client, "/office/duty")
    east, north = _gate_id(app, "东门"), _gate_id(app, "北门")
    week = "2026-12-07"
    assert client.post("/office/duty/pattern", data={"csrf_token": token, "gate_id": east,
                                                     "kind": "eight", "week": week}).status_code == 302
    r = client.post("/office/duty/pattern", data={"csrf_token": token, "gate_id": north, "kind": "custom",
                                                  "custom": "7点到晚上", "week": week},
                    follow_redirects=True)
    assert "班次格式不正确" in r.get_data(as_text=True)
    client.post("/office/duty/pattern", data={"csrf_token": token, "gate_id": north, "kind": "teams",
                                              "week": week})
    with app.app_context():
        for i, team in enumerate("ABCD"):
            duty.add_guard(f"{team}组队长", team=team)
        duty.add_guard("孙师傅")
        db.session.commit()
    client.post("/office/duty/plan", data={"csrf_token": token, "week": week})
    with app.app_context():
        east_shifts = db.session.scalars(db.select(Shift).where(Shift.gate_id == east)).all()
        north_shifts = db.session.scalars(db.select(Shift).where(Shift.gate_id == north)
                                          .order_by(Shift.starts_at)).all()
        assert len(east_shifts) == 56 and len(north_shifts) == 14
        # teams rotate: each day a different team has the day shift, everyone gets two days off
        day_teams = [s.team for s in north_shifts if s.name.startswith("08:00")]
        assert len(set(day_teams[:4])) == 4
        assert all(len(s.assignments) == 1 for s in north_shifts)
        sun = db.session.scalar(db.select(Guard.id).where(Guard.name == "孙师傅"))
        first = min(east_shifts, key=lambda s: s.starts_at)
        assert first.name == "00:00-03:00"
        first_id = first.id
    client.post("/office/duty/assign", data={"csrf_token": token, "shift_id": first_id,
                                             "guard_id": sun, "week": week})
    html = client.get(f"/office/duty?week={week}").get_data(as_text=True)
    assert "孙师傅" in html and "A组队长" in html
    pdf = client.get(f"/office/duty/sheet.pdf?week={week}")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    out = app.instance_path + "/duty.pdf"
    r = runner.invoke(args=["duty", "sheet", "--week", week, "-o", out])
    assert r.exit_code == 0, r.output
    assert "2026-12-07" in r.output
    text = _pdf_text(out)
    assert "东门" in text and "孙师傅" in text and "北门" in text and "A组队长" in text
    assert runner.invoke(args=["duty", "sheet", "--week", "next", "-o", out]).exit_code != 0


def _pdf_text(path) -> str:
    from helpers import pdf_text
    return pdf_text(path, layout=True)


def test_cli_guards_patterns_and_rules(app, runner, make):
    make.device("东门")
    r = runner.invoke(args=["duty", "guard", "周师傅", "--team", "B", "--pin", "4321"])
    assert r.exit_code == 0 and "PIN set" in r.output
    r = runner.invoke(args=["duty", "guard", "吴师傅", "--pin", "4321"])
    assert r.exit_code != 0 and "PIN" in r.output
    assert runner.invoke(args=["duty", "pattern", "--gate", "西门", "eight"]).exit_code != 0
    r = runner.invoke(args=["duty", "pattern", "--gate", "东门", "custom", "--shifts",
                            "07:00-15:00,15:00-23:00,23:00-07:00"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["duty", "plan", "--week", "2026-12-09"])
    assert "week of 2026-12-07: 21 shifts" in r.output
    r = runner.invoke(args=["rules", "set", "resident", "--temperature-required"])
    assert r.exit_code == 0 and "temperature=required" in r.output
    with app.app_context():
        rule = db.session.scalar(db.select(CategoryRuleRow).where(  # keyed per community now
            CategoryRuleRow.category == "resident"))
        assert rule.temperature_required


def test_rules_page_sets_temperature_required(app, client, auth, make, scan):
    auth.login("office")
    token = _csrf(client, "/office/rules")
    html = client.get("/office/rules").get_data(as_text=True)
    assert 'name="temperature_required"' in html
    client.post("/office/rules", data={"csrf_token": token, "category": "resident", "hours": "",
                                       "gates": "", "anti_passback": "y", "temperature_required": "y"})
    pid = make.pass_for()
    assert scan(make.token(pid)).get_json()["reason"] == "TEMPERATURE_REQUIRED"
    assert scan(make.token(pid), temperature=36.5).get_json()["allowed"] is True
    r = client.get("/api/v1/gate/snapshot", headers={"Authorization": "Bearer " + make.device()})
    assert r.get_json()["rules"]["resident"]["temperature_required"] is True


def test_places_overdue_and_spot_checks_once_per_nonce(app, client, auth, make):
    auth.login("office")
    token = _csrf(client, "/office/places")
    client.post("/office/places", data={"csrf_token": token, "name": "清河一街6号院", "every": "4"})
    client.post("/office/places", data={"csrf_token": token, "name": "二号院", "every": "2"})
    r = client.post("/office/places", data={"csrf_token": token, "name": "二号院", "every": "2"},
                    follow_redirects=True)
    assert "已有同名地点" in r.get_data(as_text=True)
    with app.app_context():
        six = db.session.scalar(db.select(Place).where(Place.name == "清河一街6号院"))
        two = db.session.scalar(db.select(Place).where(Place.name == "二号院"))
        six_id, two_id = six.id, two.id
    html = client.get("/office/places").get_data(as_text=True)
    assert html.count('class="overdue"') == 2

    pid = make.pass_for(name="查验人")
    with app.app_context():
        code = db.session.get(Pass, pid).code
    spot = client.get("/office/spot").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', spot).group(1)
    h = {"X-CSRFToken": csrf}
    now = datetime.now(timezone.utc)
    r = client.post("/office/spot/checks", json={"nonce": "c1", "place_id": six_id, "text": make.token(pid),
                                                 "at": now.isoformat()}, headers=h)
    assert r.get_json()["allowed"] is True and r.get_json()["reason"] == "OK"
    again = client.post("/office/spot/checks", json={"nonce": "c1", "place_id": six_id,
                                                     "text": make.token(pid)}, headers=h)
    assert again.get_json()["check_id"] == r.get_json()["check_id"] and again.get_json()["created"] is False
    typed = client.post("/office/spot/checks", json={"nonce": "c2", "place_id": two_id,
                                                     "text": code.lower(), "at": now.isoformat()}, headers=h)
    assert typed.get_json()["reason"] == "OK" and typed.get_json()["holder"]["name"] == "查*人"
    wrong_serial = client.post("/office/spot/checks", json={"nonce": "c3", "place_id": two_id,
                                                            "text": f"P{pid:06d}-9"}, headers=h)
    assert wrong_serial.get_json()["allowed"] is False
    visit = client.post("/office/spot/checks", json={"nonce": "c4", "place_id": two_id, "text": ""}, headers=h)
    assert "reason" not in visit.get_json() and visit.get_json()["place"] == "二号院"
    assert client.post("/office/spot/checks", json={"nonce": "c5", "place_id": 999}, headers=h).status_code == 404
    assert client.post("/office/spot/checks", json={"place_id": two_id}, headers=h).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SpotCheck.id))) == 4
    html = client.get("/office/places").get_data(as_text=True)
    assert 'class="overdue"' not in html
    with freeze_time(now + timedelta(hours=3)):
        html = client.get("/office/places").get_data(as_text=True)
        assert html.count('class="overdue"') == 1  # 二号院 every 2 h


def test_notices_on_phone_pages_gate_page_and_poster(app, client, auth, make, device_token):
    pid_a = make.pass_for(name="甲住户", building="1号楼")
    pid_b = make.pass_for(name="乙住户", building="2号楼")
    with app.app_context():
        b1 = db.session.scalar(db.select(Person).where(Person.name == "甲住户")).household.building_id
    auth.login("office")
    token = _csrf(client, "/office/notices")
    client.post("/office/notices", data={"csrf_token": token, "title": "全体核酸检测", "body": "明早8点在广场",
                                         "audience": "everyone"})
    client.post("/office/notices", data={"csrf_token": token, "title": "1号楼停水", "body": "今日14-16点",
                                         "audience": "building", "audience_value_building": str(b1)})
    client.post("/office/notices", data={"csrf_token": token, "title": "过期的公告", "audience": "everyone",
                                         "starts_at": "2020-01-01T08:00", "ends_at": "2020-01-02T08:00"})
    r = client.post("/office/notices", data={"csrf_token": token, "title": "", "audience": "everyone"},
                    follow_redirects=True)
    assert "请填写标题" in r.get_data(as_text=True)
    with app.app_context():
        from app.services.issuing import resident_link_token
        link_a = resident_link_token(db.session.get(Pass, pid_a))
        link_b = resident_link_token(db.session.get(Pass, pid_b))
        notice_id = db.session.scalar(db.select(Notice.id).where(Notice.title == "全体核酸检测"))
    page_a = client.get(f"/p/{link_a}").get_data(as_text=True)
    page_b = client.get(f"/p/{link_b}").get_data(as_text=True)
    assert "全体核酸检测" in page_a and "1号楼停水" in page_a and "过期的公告" not in page_a
    assert "全体核酸检测" in page_b and "1号楼停水" not in page_b
    assert page_a.index('id="notices"') < page_a.index('id="qr"')
    guard = login(app.test_client(), make, "guard")
    gate = guard.get("/office/gate").get_data(as_text=True)
    assert "全体核酸检测" in gate and "1号楼停水" in gate
    poster = client.get(f"/office/notices/{notice_id}/poster.pdf")
    assert poster.data.startswith(b"%PDF")
    path = app.instance_path + "/poster.pdf"
    open(path, "wb").write(poster.data)
    text = _pdf_text(path)
    assert "全体核酸检测" in text and "明早8点在广场" in text and "公告" in text
    qr = client.get("/office/links/poster.pdf")
    open(path, "wb").write(qr.data)
    assert _qr_texts(path) == ["http://localhost/p/find"]  # the poster's QR opens the page


def _qr_texts(pdf_path) -> list[str]:
    import subprocess
    import zxingcpp
    from PIL import Image
    out = pdf_path + "-page"
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", pdf_path, out], check=True)
    import glob
    img = Image.open(sorted(glob.glob(out + "*.png"))[0]).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_phone_links_cli_and_download(app, client, auth, make, runner):
    make.pass_for(name="张一", phone="13900000001")
    make.pass_for(name="李二", phone="13900000002")
    make.vehicle_pass()
    with app.app_context():
        p = db.session.scalar(db.select(Pass).join(Person).where(Person.name == "李二"))
        p.status = "suspended"
        db.session.commit()
    out = app.instance_path + "/links.csv"
    r = runner.invoke(args=["passes", "links", "-o", out, "--base-url", "https://pass.example.org"])
    assert r.exit_code == 0, r.output
    raw = open(out, "rb").read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "电话", "住址", "通行证链接", "全家通行证链接"] and len(rows) == 2
    name, phone, address, link, family = rows[1]
    assert family.startswith("https://pass.example.org/p/home/")
    assert (name, phone) == ("张一", "13900000001") and address.startswith("3号楼")
    assert link.startswith("https://pass.example.org/p/")
    assert client.get(link.replace("https://pass.example.org", "")).status_code == 200
    r = runner.invoke(args=["passes", "links", "-o", out])  # no BASE_URL: warns, still writes
    assert r.exit_code == 0 and "BASE_URL" in r.output
    auth.login("office")
    d = client.get("/office/links.csv")
    assert d.status_code == 200 and "张一" in d.get_data().decode("utf-8-sig")


def test_self_service_finds_only_the_right_person_and_is_rate_limited(app, client, make):
    pid = make.pass_for(name="王自助", phone="13812345678", room="1502")
    with app.app_context():
        person = db.session.get(Pass, pid).person
        person.id_card_masked = "1101**********123X"
        db.session.commit()
    url = "/p/find"
    form = client.get(url).get_data(as_text=True)
    assert "身份证号后 4 位" in form
    answers = []
    for phone, room, last4 in (("13812345678", "1501", "123X"), ("13812345679", "1502", "123X"),
                               ("13812345678", "1502", "1234"), ("", "", "")):
        r = client.post(url, data={"csrf_token": csrf_token(client, url), "phone": phone,
                                   "room": room, "id_last4": last4})
        answers.append(re.sub(r'value="[^"]+"', "", r.get_data(as_text=True)))
        assert r.status_code == 200 and "信息不匹配" in answers[-1] and "王" not in answers[-1]
    assert len(set(answers)) == 1  # the same page for every wrong answer
    right = {"phone": "138 1234 5678", "room": "3号楼2单元1502", "id_last4": "123x"}
    r = client.post(url, data={"csrf_token": csrf_token(client, url), **right})
    assert r.status_code == 302 and r.headers["Location"].startswith("/p/")  # the fifth try
    assert client.get(r.headers["Location"]).status_code == 200
    r = client.post(url, data={"csrf_token": csrf_token(client, url), **right})
    assert r.status_code == 429 and "次数过多" in r.get_data(as_text=True)  # even the right answer
    r = client.post(url, data={"csrf_token": csrf_token(client, url), **right},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 302  # another address has its own count


def test_duty_purge_deletes_old_records_only_with_yes(app, client, runner, device_token):
    _events(client, device_token, {"kind": "visitor", "name": "旧访客", "phone": "13000000000"},
            {"kind": "visitor", "name": "新访客"})
    with app.app_context():
        old = db.session.scalar(db.select(GateEvent).where(GateEvent.fields["name"].as_string() == "旧访客"))
        old.at = datetime.now(timezone.utc) - timedelta(days=100)
        db.session.commit()
    r = runner.invoke(args=["duty", "purge", "--older-than", "90"])
    assert r.exit_code == 1 and "1 events" in r.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(GateEvent.id))) == 2
    r = runner.invoke(args=["duty", "purge", "--older-than", "90", "--yes"])
    assert r.exit_code == 0 and "deleted 1 events" in r.output
    with app.app_context():
        names = [e.fields["name"] for e in db.session.scalars(db.select(GateEvent))]
        assert names == ["新访客"]


def test_sign_on_during_a_planned_shift_names_it(app, client, make):
    token = make.device("东门")
    with app.app_context():
        gate = db.session.scalar(db.select(Gate).where(Gate.name == "东门"))
        g = duty.add_guard("排班的人", pin="7777")
        duty.set_pattern(gate, "eight")
        from gatepass.duty import week_start
        from app.config import community_tz
        now = datetime.now(community_tz())
        shifts = duty.plan_week(gate, week_start(now.date())) + \
            duty.plan_week(gate, week_start(now.date() + timedelta(days=1)))
        current = next(s for s in shifts if s.starts_at <= now < s.ends_at)
        duty.assign(current.id, g.id)
        db.session.commit()
        expected = {"id": current.id, "name": current.name}
    r = client.post("/api/v1/duty/sign-on", json={"pin": "7777"},
                    headers={"Authorization": f"Bearer {token}"})
    shift = r.get_json()["shift"]
    assert {"id": shift["id"], "name": shift["name"]} == expected
    assert datetime.fromisoformat(shift["starts_at"]) <= datetime.now(timezone.utc) < \
        datetime.fromisoformat(shift["ends_at"])
