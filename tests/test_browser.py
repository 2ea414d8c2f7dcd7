"""The office and the resident's phone page, driven in a real headless Chromium.

One live server (a thread, a SQLite file) serves the whole module; each test
gets a fresh browser context, so nobody is logged in at the start.
"""
from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import GateDevice, Pass, Person, Scan
from gatepass.tokens import KeyRing
from gatepass.verdict import GateContext, verify
from browser_helpers import (LOCAL, PHONE, add_user, browser_server, chromium, decode_qr, log_in,
                             new_context)

pytestmark = pytest.mark.browser

TZ = ZoneInfo("Asia/Shanghai")
PASSWORDS = {"office": "office-pw-1234", "guard": "guard-pw-1234"}
#: (gate, direction, local hour) -> allowed scans seeded for today.
HOURLY = {("东门", "out", 8): 30, ("北门", "out", 8): 12, ("东门", "in", 16): 25,
          ("北门", "in", 16): 9, ("东门", "in", 12): 3}
DENIALS = {"REVOKED": 4, "BAD_FORMAT": 2}
NEWCOMER = "欧阳明月"  # a person with no pass yet: the office issues one in the browser


def _seed(app) -> dict:
    from app.demo import build_community
    with app.app_context():
        build_community(200, scans=False)
        for role, password in PASSWORDS.items():
            add_user(role, role, password, f"{role} 测试")
        db.session.add(Person(name=NEWCOMER, category="staff", phone="13700001111",
                              employer="物业公司"))
        devices = {d.gate.name: d for d in db.session.scalars(db.select(GateDevice))}
        residents = db.session.scalars(db.select(Pass).where(
            Pass.status == "active", Pass.category == "resident").order_by(Pass.id)).all()
        rng = random.Random(5)
        day = datetime.now(TZ).date()
        used = iter(residents)
        for (gate, direction, hour), n in HOURLY.items():
            for _ in range(n):
                at = datetime.combine(day, time(hour, rng.randint(0, 59)), TZ)
                db.session.add(Scan(nonce=uuid.uuid4().hex, device=devices[gate],
                                    gate=devices[gate].gate, pass_=next(used), direction=direction,
                                    scanned_at=at, received_at=at, allowed=True, reason="OK"))
        for reason, n in DENIALS.items():
            for _ in range(n):
                at = datetime.combine(day, time(10, rng.randint(0, 59)), TZ)
                db.session.add(Scan(nonce=uuid.uuid4().hex, device=devices["北门"],
                                    gate=devices["北门"].gate, direction="in", scanned_at=at,
                                    received_at=at, allowed=False, reason=reason))
        spare = next(used)  # never scanned: its phone code must verify OK at any gate
        db.session.commit()
        return {"day": day, "phone_pass": spare.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("live"), DYNAMIC_TOKEN_REFRESH=2)
    server.seeded = _seed(server.app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(live):
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    context = new_context(browser)
    yield context.new_page()
    context.close()


def _page_exists(live, endpoint: str) -> None:
    """Pages other work adds: skipped, with the reason, until the endpoint exists."""
    if endpoint not in {r.endpoint for r in live.app.url_map.iter_rules()}:
        pytest.skip(f"no {endpoint} page in this app yet")


def office(page, live):
    log_in(page, live.url, "office", PASSWORDS["office"])


# -- dashboard ---------------------------------------------------------------

def test_office_logs_in_and_sees_the_hourly_chart(page, live):
    office(page, live)
    assert page.url == f"{live.url}/office/"
    chart = page.locator("svg#hourly-chart")
    chart.wait_for(state="visible")
    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 150

    if chart.get_attribute("data-day") != live.seeded["day"].isoformat():  # run across midnight
        page.goto(f"{live.url}/office/?day={live.seeded['day'].isoformat()}")
    bars = page.eval_on_selector_all(
        "#hourly-chart rect[data-count]",
        "els => els.map(e => [e.dataset.gate, e.dataset.direction, +e.dataset.hour,"
        " +e.dataset.count, e.getBoundingClientRect().height])")
    counted = Counter()
    for gate, direction, hour, count, height in bars:
        counted[(gate, direction, hour)] += count
        assert count > 0 and height > 0, "a drawn bar has a count and a height"
    assert dict(counted) == HOURLY
    by_hour = Counter()
    for (_, _, hour), n in counted.items():
        by_hour[hour] += n
    assert by_hour[8] == 42 and by_hour[16] == 34  # the two peaks

    tiles = page.locator(".tiles").inner_text()
    assert "今日进入" in tiles and str(25 + 9 + 3) in tiles and str(30 + 12) in tiles
    denials = page.locator("#denials")
    assert "通行证已作废" in denials.inner_text()
    assert denials.locator("[data-reason=REVOKED]").inner_text() == "4"
    assert page.locator("#passes tr[data-category=resident]").is_visible()


# -- people, issuing, pass actions ---------------------------------------------

def _status_shown(page) -> str:
    return page.locator("h1 .status").inner_text()


def test_search_issue_suspend_reissue_revoke(page, live):
    office(page, live)
    page.click("nav >> text=人员")
    page.fill("input[name=q]", "欧阳")
    page.keyboard.press("Enter")
    page.click(f"text={NEWCOMER}")
    assert NEWCOMER in page.locator("h1").inner_text()
    page.get_by_role("button", name="签发通行证", exact=True).click()
    assert "已签发通行证" in page.locator(".flash").inner_text()
    assert _status_shown(page) == "有效"
    code = page.locator("h1").inner_text().split()[1]
    assert code.endswith("-1")

    page.get_by_role("button", name="暂停", exact=True).click()
    assert _status_shown(page) == "已暂停"
    page.get_by_role("button", name="恢复", exact=True).click()
    assert _status_shown(page) == "有效"
    page.get_by_role("button", name="补办（旧卡作废）", exact=True).click()
    assert page.locator("h1").inner_text().split()[1] == code[:-1] + "2"

    page.once("dialog", lambda d: d.dismiss())  # the office thinks again
    page.get_by_role("button", name="作废", exact=True).click()
    assert _status_shown(page) == "有效"
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.get_by_role("button", name="作废", exact=True).click()
    page.wait_for_load_state()
    assert _status_shown(page) == "已作废"
    assert "作废" in messages[0]
    assert page.get_by_role("button", name="暂停", exact=True).count() == 0

    with live.app.app_context():
        p = db.session.scalar(db.select(Pass).join(Person).where(Person.name == NEWCOMER))
        assert (p.status, p.serial) == ("revoked", 2)


# -- the resident's phone page ----------------------------------------------

def _verify(live, token: str):
    with live.app.app_context():
        ring = KeyRing.load(live.app.config["KEYS_DIR"])

        def lookup(pass_id):
            p = db.session.get(Pass, pass_id)
            return p.state() if p else None

        return verify(token, ring, lookup, datetime.now(timezone.utc),
                      GateContext(gate="东门", direction="in", local_tz=TZ,
                                  max_age=timedelta(seconds=60)))


def _phone_qr(phone) -> str:
    texts = decode_qr(phone.screenshot())
    assert len(texts) == 1, texts
    return texts[0]


def test_resident_phone_page_shows_a_live_code_that_verifies(page, browser, live):
    pass_id = live.seeded["phone_pass"]
    office(page, live)
    page.goto(f"{live.url}/office/passes/{pass_id}")
    link = page.locator("input.link-box").input_value()
    assert link.startswith(f"{live.url}/p/")

    context = browser.new_context(**PHONE, **LOCAL)
    try:
        phone = context.new_page()
        resp = phone.goto(link)
        assert resp.status == 200
        phone.locator("#qr svg").wait_for(state="visible")
        first = _phone_qr(phone)
        assert first.startswith("GPD.")
        verdict = _verify(live, first)
        assert (verdict.reason, verdict.dynamic, verdict.pass_id) == ("OK", True, pass_id)

        # DYNAMIC_TOKEN_REFRESH is 2 s here: the page fetches a new code by itself.
        # (a locator expectation: the page's CSP forbids the eval behind wait_for_function)
        expect(phone.locator("#qr")).to_have_attribute("data-drawn-at", re.compile(r".+"),
                                                       timeout=10_000)
        phone.wait_for_timeout(300)
        second = _phone_qr(phone)
        assert second != first and second.startswith("GPD.")
        assert _verify(live, second).reason == "OK"

        # The office resets the link (a forwarded link): the old one is dead.
        page.get_by_role("button", name="重置手机链接", exact=True).click()
        assert "已完成操作" in page.locator(".flash").inner_text()
        resp = phone.goto(link)
        assert resp.status == 404
        assert "页面不存在" in phone.locator("main").inner_text()
        assert phone.locator("html").get_attribute("lang") == "zh-CN"
    finally:
        context.close()


# -- language, logout, roles ---------------------------------------------------

def test_language_switch_to_english_sticks(page, live):
    office(page, live)
    assert page.locator("nav").inner_text().split()[0] == "概览"
    page.click("header.topbar >> text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Overview" in page.locator("nav").inner_text()
    assert "Hourly" in page.locator("#hourly h2").inner_text()
    page.click("nav >> text=People")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "People"
    page.click("header.topbar >> text=中文")
    assert page.locator("h1").inner_text() == "人员"


def test_logout_then_guard_sees_no_office_entries(page, live):
    office(page, live)
    page.get_by_role("button", name="退出", exact=True).click()
    assert page.url.startswith(f"{live.url}/login")
    page.goto(f"{live.url}/office/")
    assert page.url.startswith(f"{live.url}/login")

    log_in(page, live.url, "guard", PASSWORDS["guard"])
    assert page.url.startswith(f"{live.url}/office/gate")  # a guard lands on the gate page
    nav = page.locator("header nav").inner_text().split()
    assert "通行记录" in nav and "在外人员" in nav
    for office_only in ("人员", "住户", "车辆", "通行证", "名册导入", "居家隔离", "通行规则",
                        "门岗设备"):
        assert office_only not in nav, office_only
    resp = page.goto(f"{live.url}/office/people")
    assert resp.status == 403
    assert "无权访问" in page.locator("main").inner_text()


# -- roster import through the office upload page -------------------------------

ROSTER_HEAD = "楼栋,单元,房号,姓名,手机号,类别\n"
ROSTER_OK = ROSTER_HEAD + ("1号楼,1单元,901,司马光明,13800009001,居民\n"
                           "1号楼,1单元,901,司马小光,13800009002,租户\n")


def _upload(page, text: str, button: str) -> None:
    page.set_input_files("input[type=file][name=file]", files=[{
        "name": "名册.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8-sig")}])
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def test_roster_import_through_the_upload_page(page, live):
    _page_exists(live, "office.roster")
    office(page, live)
    page.click("nav >> text=名册导入")
    assert page.locator("h1").inner_text() == "名册导入"

    _upload(page, ROSTER_OK + "2号楼,2单元,902,诸葛亮亮,1380000,租户\n", "预检（不写入）")
    errors = page.locator("#roster-errors")
    assert "未写入任何数据" in errors.inner_text()
    lines = page.locator("table.grid tr.denied td:first-child").all_inner_texts()
    assert lines == ["4"]  # the line Excel shows: header is line 1

    _upload(page, ROSTER_OK, "预检（不写入）")
    assert "预检通过" in page.locator("#roster-summary").inner_text()
    with live.app.app_context():
        assert db.session.scalar(db.select(Person).where(Person.name == "司马光明")) is None

    _upload(page, ROSTER_OK, "导入")
    assert "导入完成" in page.locator("#roster-summary").inner_text()
    page.goto(f"{live.url}/office/people?q=司马")
    rows = page.locator("table.grid tr:has(td)")
    assert rows.count() == 2
    assert "1号楼1单元901" in rows.first.inner_text()
    with live.app.app_context():
        people = db.session.scalars(db.select(Person).where(Person.name.like("司马%"))).all()
        assert sorted(p.category for p in people) == ["resident", "tenant"]
        assert all(len(p.passes) == 1 and p.passes[0].status == "active" for p in people)


# -- a batch of cards printed from the office page --------------------------------

def test_print_a_batch_downloads_a_pdf_whose_codes_verify(page, live, tmp_path):
    import numpy as np
    import pypdfium2 as pdfium
    import zxingcpp

    _page_exists(live, "office.print_passes")
    office(page, live)
    page.click("nav >> text=打印通行证")
    page.select_option("select[name=building]", "1号楼")
    page.select_option("select[name=category]", "resident")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载 PDF", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / "cards.pdf"
    download.save_as(path)
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(b"%PDF")

    pdf = pdfium.PdfDocument(str(path))
    bitmap = pdf[0].render(scale=300 / 72, grayscale=True).to_pil()
    tokens = [r.text for r in zxingcpp.read_barcodes(np.asarray(bitmap.convert("L")),
                                                     formats=zxingcpp.BarcodeFormat.QRCode)]
    with live.app.app_context():
        wanted = set(db.session.scalars(
            db.select(Pass.id).join(Person).join(Person.household)
            .where(Pass.status == "active", Pass.category == "resident")
            .where(Person.household.has(building_id=_building_id("1号楼")))))
    assert len(tokens) == min(10, len(wanted)) > 0  # ten cards to an A4 page
    for token in tokens:
        assert token.startswith("GPS.")  # printed cards carry static codes
        verdict = _verify(live, token)
        assert verdict.reason == "OK" and verdict.dynamic is False
        assert verdict.pass_id in wanted  # only the chosen building and category


def _building_id(name: str) -> int:
    from app.models import Building
    return db.session.scalar(db.select(Building.id).where(Building.name == name))
