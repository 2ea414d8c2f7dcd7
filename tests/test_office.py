"""Office pages: login, roles, CSRF, issuing actions, QR images."""
import io
import re

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from app.extensions import db
from app.models import Pass
from helpers import csrf_token, login


def test_login_page_is_chinese_and_needs_csrf(client, make):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    password = make.user("wang", "office")
    r = client.post("/login", data={"username": "wang", "password": password})
    assert r.status_code == 400  # no CSRF token: refused before the password is checked
    r = client.post("/login", data={"username": "wang", "password": "wrong",
                                    "csrf_token": csrf_token(client)})
    assert "用户名或密码错误" in r.get_data(as_text=True)


def test_login_redirect_ignores_foreign_next(client, make):
    password = make.user("li", "office")
    r = client.post("/login?next=https://evil.example/x",
                    data={"username": "li", "password": password, "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/office/")


def test_anonymous_is_sent_to_login(client):
    r = client.get("/office/people")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


ROLE_MATRIX = [
    # url, method, roles admitted
    ("/office/", "GET", {"admin", "office", "health", "guard"}),
    ("/office/people", "GET", {"admin", "office", "health"}),
    ("/office/households", "GET", {"admin", "office", "health"}),
    ("/office/vehicles", "GET", {"admin", "office"}),
    ("/office/passes", "GET", {"admin", "office"}),
    ("/office/scans", "GET", {"admin", "office", "health", "guard"}),
    ("/office/outside", "GET", {"admin", "office", "health", "guard"}),
    ("/office/rules", "GET", {"admin", "office"}),
    ("/office/devices", "GET", {"admin"}),
]


@pytest.mark.parametrize("role", ["admin", "office", "health", "guard"])
def test_each_view_checks_its_role(client, make, role):
    login(client, make, role)
    for url, _method, admitted in ROLE_MATRIX:
        code = client.get(url).status_code
        assert code == (200 if role in admitted else 403), (role, url, code)


@pytest.mark.parametrize("role", ["health", "guard"])
def test_lower_roles_cannot_change_passes(app, client, make, role):
    pid = make.pass_for()
    login(client, make, role)
    token = csrf_token(client, "/office/")
    for action in ("suspend", "revoke", "reissue", "revoke-link"):
        r = client.post(f"/office/passes/{pid}/{action}", data={"csrf_token": token})
        assert r.status_code == 403
    with app.app_context():
        p = db.session.get(Pass, pid)
        assert (p.status, p.serial) == ("active", 1)


def test_post_without_csrf_is_refused(app, client, make):
    pid = make.pass_for()
    login(client, make, "office")
    r = client.post(f"/office/passes/{pid}/revoke")
    assert r.status_code == 400
    r = client.post(f"/office/passes/{pid}/revoke", data={"csrf_token": "forged"})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.get(Pass, pid).status == "active"


def test_issue_suspend_reinstate_reissue_revoke(app, client, make, scan):
    person = make.person(name="赵铁柱")
    login(client, make, "office")
    token = csrf_token(client, f"/office/people/{person}")
    r = client.post(f"/office/people/{person}/issue", data={"csrf_token": token})
    assert r.status_code == 302
    with app.app_context():
        pid = db.session.scalar(db.select(Pass.id).where(Pass.person_id == person))
    page = client.get(f"/office/passes/{pid}").get_data(as_text=True)
    assert "赵铁柱" in page and "<svg" in page
    first_card = make.token(pid)

    def act(action):
        r = client.post(f"/office/passes/{pid}/{action}", data={"csrf_token": token})
        assert r.status_code == 302
        with app.app_context():
            p = db.session.get(Pass, pid)
            return p.status, p.serial

    assert act("suspend") == ("suspended", 1)
    assert scan(first_card).get_json()["reason"] == "SUSPENDED"
    assert act("reinstate") == ("active", 1)
    assert act("reissue") == ("active", 2)
    assert scan(first_card).get_json()["reason"] == "SUPERSEDED"
    assert scan(make.token(pid)).get_json()["reason"] == "OK"
    assert act("revoke") == ("revoked", 2)
    assert scan(make.token(pid), "out").get_json()["reason"] == "REVOKED"
    # a revoked pass cannot come back
    client.post(f"/office/passes/{pid}/reinstate", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Pass, pid).status == "revoked"


def test_issuing_twice_returns_the_live_pass(app, client, make):
    person = make.person()
    login(client, make, "office")
    token = csrf_token(client, "/office/")
    client.post(f"/office/people/{person}/issue", data={"csrf_token": token})
    client.post(f"/office/people/{person}/issue", data={"csrf_token": token})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Pass.id))) == 1


def test_qr_png_decodes_back_to_the_token(client, make):
    pid = make.pass_for()
    login(client, make, "office")
    r = client.get(f"/office/passes/{pid}/qr.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    img = np.array(Image.open(io.BytesIO(r.data)).convert("L"))
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [make.token(pid)]


def test_qr_svg_is_an_svg_of_the_token(client, make):
    pid = make.pass_for()
    login(client, make, "office")
    r = client.get(f"/office/passes/{pid}/qr.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert svg.startswith("<svg") and 'viewBox="0 0 ' in svg
    # render the SVG's unit squares and decode them: the drawing is the token
    n = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    grid = np.full((n, n), 255, np.uint8)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        grid[int(y), int(x):int(x) + int(w)] = 0
    big = np.kron(grid, np.ones((8, 8), np.uint8))
    assert [b.text for b in zxingcpp.read_barcodes(
        big, formats=zxingcpp.BarcodeFormat.QRCode)] == [make.token(pid)]


def test_people_search_and_filters(client, make):
    make.person(name="钱多多", category="tenant")
    make.person(name="孙悟空", category="sanitation")
    login(client, make, "office")
    page = client.get("/office/people?q=钱").get_data(as_text=True)
    assert "钱多多" in page and "孙悟空" not in page
    page = client.get("/office/people?category=sanitation").get_data(as_text=True)
    assert "孙悟空" in page and "钱多多" not in page


def test_outside_now_lists_who_went_out(client, make, scan):
    out_pid = make.pass_for(name="周八")
    in_pid = make.pass_for(name="吴九")
    scan(make.token(out_pid), "out")
    scan(make.token(in_pid), "in")
    login(client, make, "guard")
    page = client.get("/office/outside").get_data(as_text=True)
    assert "周*" in page and "吴*" not in page and "周八" not in page  # a guard sees masked names


def test_scan_log_filters_and_shows_failed_reasons(client, make, scan):
    pid = make.pass_for(name="郑十")
    scan(make.token(pid), "in")
    scan("wxp://not-ours", "in")
    login(client, make, "office")
    page = client.get("/office/scans?verdict=denied").get_data(as_text=True)
    assert "不是本小区通行码" in page and "郑十" not in page
    page = client.get("/office/scans?verdict=allowed&direction=in").get_data(as_text=True)
    assert "郑十" in page
    page = client.get("/office/scans?reason=BAD_FORMAT&direction=out").get_data(as_text=True)
    assert "没有符合条件的记录" in page


def test_rules_page_saves_and_validates(app, client, make):
    login(client, make, "office")
    token = csrf_token(client, "/office/rules")
    r = client.post("/office/rules", data={"csrf_token": token, "category": "sanitation",
                                           "hours": "03:00-07:00", "gates": "东门",
                                           "anti_passback": "y"})
    assert r.status_code == 302
    assert "03:00-07:00" in client.get("/office/rules").get_data(as_text=True)
    r = client.post("/office/rules", data={"csrf_token": token, "category": "sanitation",
                                           "hours": "3 to 7"}, follow_redirects=True)
    page = r.get_data(as_text=True)  # the Chinese UI says it in Chinese, naming what was typed
    assert "时段“3 to 7”格式不正确" in page and "bad time window" not in page
    client.get("/office/rules?lang=en")
    r = client.post("/office/rules", data={"csrf_token": token, "category": "sanitation",
                                           "hours": "3 to 7"}, follow_redirects=True)
    assert "bad time window" in r.get_data(as_text=True)
    assert client.post("/office/rules", data={"csrf_token": token, "category": "pirates"}).status_code == 400


def test_english_is_available(client, make):
    login(client, make, "office")
    page = client.get("/office/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page
    assert 'lang="en"' in client.get("/office/people").get_data(as_text=True)  # remembered
