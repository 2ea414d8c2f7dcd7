"""Issue 17 through the Flask test client: what the resident's and the returnee's phone pages
say and keep (the browser measures live in test_browser_phones.py), the guard's landing page,
the favicon, and each audience getting only its own stylesheet."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from app.extensions import db
from app.health.models import QuarantineEpisode
from app.models import Gate, Pass
from helpers import csrf_token, login

T0 = datetime(2026, 11, 20, 0, 30, tzinfo=timezone.utc)  # 08:30 in the community


def link_of(app, pid: int) -> str:
    from app.services import issuing
    with app.app_context():
        return f"/p/{issuing.resident_link_token(db.session.get(Pass, pid))}"


def in_quarantine(app, pid: int, at: datetime = T0) -> None:
    from app.health import episodes as health
    with app.app_context():
        health.start_episode(db.session.get(Pass, pid).person, at, now=at)
        db.session.commit()


def poster(app) -> str:
    from app.health import registrations
    with app.app_context():
        gate = Gate(name="东门")
        db.session.add(gate)
        db.session.commit()
        return f"/register/{registrations.poster_token(gate)}"


def stylesheets(page: str) -> list[str]:
    """The stylesheets a page uses: linked files, and phone.css when carried inline."""
    inline = ["phone.css (inline)"] if '<style data-file="phone.css">' in page else []
    return re.findall(r'href="/static/([\w.]+\.css)', page) + inline


def test_a_resident_in_quarantine_is_told_to_stay_in_not_shown_green_valid(app, client, make):
    pid = make.pass_for(name="李建国")
    link = link_of(app, pid)
    with freeze_time(T0):
        page = client.get(link).get_data(as_text=True)
        assert 'class="status-line active"' in page and "有效，可以通行</span>" in page
        in_quarantine(app, pid)
        page = client.get(link).get_data(as_text=True)
        assert 'class="status-line quarantine"' in page and "居家隔离中，请勿外出</span>" in page
        assert "有效，可以通行</span>" not in page
        data = client.get(f"{link}/qr.json").get_json()
        assert data["quarantine"] is True and data["status"] == "active" and data["svg"]
        assert data["max_age"] == 60  # the page hides a code this old and says why


def test_phone_pages_load_only_the_phone_stylesheet_and_the_office_only_its_own(app, client, make):
    pid = make.pass_for()
    with app.app_context():
        from app.duty import notices
        notices.save_notice(None, title="停水通知", body="明天 9 点停水")
        db.session.commit()
    page = client.get(link_of(app, pid)).get_data(as_text=True)
    assert "停水通知" in page and stylesheets(page) == ["phone.css (inline)"]
    assert stylesheets(client.get("/p/find").get_data(as_text=True)) == ["phone.css (inline)"]
    assert stylesheets(client.get(poster(app)).get_data(as_text=True)) == ["phone.css (inline)"]
    login(client, make, "office")
    assert stylesheets(client.get("/office/").get_data(as_text=True)) == ["style.css"]
    assert 'rel="icon"' in page
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.data[:4] == b"\x00\x00\x01\x00" and r.cache_control.max_age > 0


def test_after_a_report_the_confirmation_is_on_top_and_the_slot_shows_as_done(app, client, make):
    pid = make.pass_for()
    link = link_of(app, pid)
    in_quarantine(app, pid)
    with freeze_time(T0 + timedelta(hours=1)):  # 09:30: the morning slot
        token = csrf_token(client, link)
        r = client.post(f"{link}/report", data={"csrf_token": token, "value": "38.4"})
        assert r.status_code == 302 and "#" not in r.location  # no jump past the message
        page = client.get(r.location).get_data(as_text=True)
        flash = page.index("社区医生会尽快联系您，请留在家中")
        assert flash < page.index('id="qr"')  # above the pass, where the eye is
        assert 'id="slot-done"' in page and "上午的体温已上报" in page
        assert "38.4℃</b> （体温异常）" in page  # the fever in words, not only in red
        assert "<details class=\"correct\">" in page  # a correction stays possible, folded


def test_a_report_without_its_session_keeps_the_reading_and_gives_a_fresh_token(app, client, make):
    pid = make.pass_for()
    link = link_of(app, pid)
    in_quarantine(app, pid)
    with freeze_time(T0 + timedelta(hours=1)):
        # a tab restored after a browser restart: a token from a session that is gone
        r = client.post(f"{link}/report", data={"csrf_token": "stale.token", "value": "36.7"})
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and "页面已过期" in page and 'value="36.7"' in page
        fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(f"{link}/report", data={"csrf_token": fresh, "value": "36.7"}).status_code == 302
        assert "员工登录" not in page and "/login" not in page


def test_the_end_of_quarantine_is_said_with_a_link_to_the_certificate(app, client, make):
    from app.health import certificates, episodes as health
    pid = make.pass_for()
    link = link_of(app, pid)
    in_quarantine(app, pid, T0 - timedelta(days=15))
    with app.app_context():
        ep = db.session.scalar(db.select(QuarantineEpisode))
        health.end_episode(ep, now=T0)
        certificates.issue(ep, None, now=T0)
        db.session.commit()
    with freeze_time(T0 + timedelta(days=1)):
        page = client.get(link).get_data(as_text=True)
        assert 'id="report"' not in page and "居家隔离已结束" in page
        assert re.search(r'id="certificate" href="[^"]*/verify/', page)
    with freeze_time(T0 + timedelta(days=40)):
        assert "居家隔离已结束" not in client.get(link).get_data(as_text=True)


def test_find_accepts_the_home_as_residents_write_it(app, client, make):
    pid = make.pass_for(building="2号楼", unit="1单元", room="101", phone="13912340000")
    with app.app_context():
        db.session.get(Pass, pid).person.id_card_masked = "1101**********123X"
        db.session.commit()
    for home in ("2-1-101", "2号楼1单元101", "2栋 1单元 101室", "101"):
        r = client.post("/p/find", data={"csrf_token": csrf_token(client, "/p/find"), "phone": "13912340000",
                                         "room": home, "id_last4": "123x"}, environ_base={"REMOTE_ADDR": f"10.0.0.{len(home)}"})
        assert r.status_code == 302 and r.location.startswith("/p/"), home
    r = client.post("/p/find", data={"csrf_token": csrf_token(client, "/p/find"), "phone": "13912340000",
                                     "room": "2-1-102", "id_last4": "123X"}, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert "信息不匹配" in r.get_data(as_text=True)
    # a lost session: the page says so and keeps what was typed
    r = client.post("/p/find", data={"csrf_token": "gone", "phone": "13912340000", "room": "2-1-101",
                                     "id_last4": "123X"}, environ_base={"REMOTE_ADDR": "10.0.2.1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="expired"' in page and 'value="2-1-101"' in page


def test_registration_keeps_what_was_typed_and_resolves_the_three_step_home(app, client, make):
    path = poster(app)
    make.person(building="5号楼", unit="2单元", room="301")
    base = {"name": "孙丽", "phone": "13800001234", "id_card": "110101199001011234", "origin": "湖北省武汉市",
            "arrived_on": "2026-11-19", "travel_mode": "train", "building": "5号楼", "unit": "2单元",
            "room": "301", "consent": "yes"}
    with freeze_time(T0):
        # a lost session: no bare 400 page, everything kept (the ID number too), a fresh token
        r = client.post(path, data={**base, "csrf_token": "from-a-dead-session"})
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and "您填写的内容已保留" in page
        for kept in ('value="孙丽"', 'value="110101199001011234"', 'value="湖北省武汉市"',
                     "<option selected>5号楼</option>", "<option selected>2单元</option>",
                     "<option selected>301</option>"):
            assert kept in page, kept
        fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        # a wrong ID number is the one field asked again
        r = client.post(path, data={**base, "csrf_token": fresh, "id_card": "123"})
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and 'value="孙丽"' in page and 'name="id_card" value=""' in page
        r = client.post(path, data={**base, "csrf_token": fresh})
        assert r.status_code == 302 and "/register/status/" in r.location
    with app.app_context():
        from app.health.models import Registration
        reg = db.session.scalar(db.select(Registration))
        assert reg.household.address == "5号楼2单元301"


def test_a_public_error_page_never_leads_to_the_staff_login(app, client):
    page = client.get("/p/not-a-link").get_data(as_text=True)
    assert "返回首页" not in page and 'href="/"' not in page and "重新打开物业发给您的链接" in page
    page = client.get("/office/nowhere").get_data(as_text=True)
    assert "返回首页" in page


def test_a_guard_lands_on_the_gate_page_of_their_gate(app, client, make):
    from app.duty import guards as duty
    with app.app_context():
        for name in ("东门", "北门"):
            db.session.add(Gate(name=name))
        db.session.commit()
    r = client.post("/login", data={"username": "guard-1", "password": make.user("guard-1", "guard"),
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.location.endswith("/office/gate")  # no gate yet: the pick page
    with app.app_context():
        from app.models import User
        north = db.session.scalar(db.select(Gate).where(Gate.name == "北门"))
        user = db.session.scalar(db.select(User).where(User.username == "guard-1"))
        guard = duty.add_guard("门卫老刘", user_id=user.id)
        duty.sign_on(guard, north)
        db.session.commit()
        north_id = north.id
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/gate")})
    r = client.post("/login", data={"username": "guard-1", "password": "pw-" + "x" * 8,
                                    "csrf_token": csrf_token(client)})
    assert r.location.endswith(f"/office/gate?gate={north_id}")
    assert "北门" in client.get(r.location).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/gate")})
    login(client, make, "office")
    assert client.get("/").location.endswith("/office/")


def test_a_family_link_shows_each_members_own_pass_and_can_be_reset(app, client, make, runner):
    from app.services import issuing
    from app.models import Household
    grandma = make.pass_for(name="王秀英", building="2号楼", unit="1单元", room="101", phone="13900000011")
    with app.app_context():
        home = db.session.get(Pass, grandma).person.household_id
    child = make.person(name="王小明", building="2号楼", unit="1单元", room="999")
    with app.app_context():
        from app.models import Person
        db.session.get(Person, child).household_id = home
        db.session.commit()
    child_pass = make.pass_for(child)
    in_quarantine(app, child_pass, datetime.now(timezone.utc))
    out = app.instance_path + "/links.csv"
    assert runner.invoke(args=["passes", "links", "-o", out, "--base-url", "https://x.example"]).exit_code == 0
    rows = open(out, encoding="utf-8-sig").read().splitlines()
    family = {r.split(",")[-1] for r in rows[1:]}
    assert len(family) == 1  # the same family link on both members' rows
    path = family.pop().replace("https://x.example", "")
    page = client.get(path).get_data(as_text=True)
    assert "王*英" in page and "王*明" in page and 'aria-current="page">王*英' in page  # the switcher
    assert "有效，可以通行</span>" in page and "P0" in page
    switched = re.search(r'href="([^"]+\?m=%d)"' % child_pass, page).group(1).replace("&amp;", "&")
    page = client.get(switched).get_data(as_text=True)
    assert "居家隔离中，请勿外出</span>" in page and 'id="report"' not in page
    qr = client.get(re.search(r'data-url="([^"]+)"', page).group(1)).get_json()
    assert qr["quarantine"] and qr["svg"]
    with app.app_context():  # each code is signed for its own person
        assert issuing.resident_link_token(db.session.get(Pass, child_pass)) not in page
    # revoking a member's pass shows on their page, as on a personal link
    login(client, make, "office")
    client.post(f"/office/passes/{child_pass}/revoke",
                data={"csrf_token": csrf_token(client, f"/office/passes/{child_pass}")})
    assert "通行证已作废" in client.get(switched).get_data(as_text=True)
    # resetting the family link ends the old one
    page = client.get(f"/office/households/{home}/link").get_data(as_text=True)
    assert "/p/home/" in page and "王小明" in page
    client.post(f"/office/households/{home}/link/reset",
                data={"csrf_token": csrf_token(client, f"/office/households/{home}/link")})
    assert client.get(path).status_code == 404
    with app.app_context():
        assert db.session.get(Household, home).link_version == 2
    assert client.get(f"/p/home/forged/{grandma}/qr.json").status_code == 404


def test_own_pin_again_while_on_duty_asks_before_restarting_the_shift(app, client, make):
    from app.duty.models import DutySession
    from app.duty import guards as duty
    with app.app_context():
        gate = Gate(name="东门")
        db.session.add(gate)
        duty.add_guard("钱志愿者", kind="volunteer", pin="5555")
        db.session.commit()
        gid = gate.id
    login(client, make, "guard")
    page = f"/office/gate?gate={gid}"
    sign_on = {"csrf_token": csrf_token(client, page), "gate_id": gid, "pin": "5555"}
    assert client.post("/office/gate/sign-on", data=sign_on).status_code == 302
    r = client.post("/office/gate/sign-on", data=sign_on)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "钱志愿者 已在岗" in html and 'name="confirm" value="1"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(DutySession.id))) == 1  # nothing restarted
    assert client.post("/office/gate/sign-on", data={**sign_on, "confirm": "1"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(DutySession.id))) == 2
    # the gate page's service worker is served under /office/ (its scope), never cached stale
    r = client.get("/office/gate-sw.js")
    assert r.status_code == 200 and "javascript" in r.content_type and r.headers["Cache-Control"] in ("no-cache", "no-store")
    assert "gatepass-gate" in r.get_data(as_text=True)
    assert 'data-sw="/office/gate-sw.js"' in client.get(page).get_data(as_text=True)
