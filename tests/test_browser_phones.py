"""The resident's and the returnee's pages on a phone, measured against the elderly-friendly
(适老化) rules of issue 17, in a real Chromium at 390×844 and 320×568:

* visible text ≥ 18 px, the status/verdict ≥ 30 px, line height ≥ 1.3;
* axe-core (npm, pinned in package.json): 0 serious or critical violations;
* tap targets ≥ 44×44 CSS px, the main action ≥ 60 px high;
* sizes follow the root font size (the phone's font setting) and the 大字 switch, which persists;
* without network the code is hidden and the page says why and what to do.

One live server and one browser for the module; screenshots go to docs/img/.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Building, Gate, Household, Person
from browser_helpers import browser_server, chromium, new_context

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "build" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
IMG = ROOT / "docs" / "img"
PHONES = {"390x844": {"width": 390, "height": 844}, "320x568": {"width": 320, "height": 568}}
GUARD_PASSWORD = "guard-pw-1234"
MAX_AGE = 4  # seconds a phone code lives here (60 in production): the offline test waits it out

#: Everything a finger taps; a checkbox's target is its label.
TARGETS = "a[href], button:not([hidden]), select, input:not([type=hidden]):not([type=checkbox]), summary, label.check"
MEASURE = """(targets) => {
  const seen = [], sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement, text = node.textContent.trim();
    if (!text || !el || el.closest('script,style,noscript,svg')) continue;
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (!r.width || !r.height || cs.visibility === 'hidden' || el.closest('[hidden]')) continue;
    const size = parseFloat(cs.fontSize), lh = parseFloat(cs.lineHeight) || size * 1.2;
    sizes.push({text: text.slice(0, 30), size, ratio: lh / size, chars: text.length});
  }
  const small = [], main = [];
  document.querySelectorAll(targets).forEach(el => {
    if (el.closest('[hidden]') || el.closest('details:not([open]) > :not(summary)')) return;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) return;
    if (r.width < 44 || r.height < 44) small.push(`${el.tagName} ${(el.textContent || el.name || '').trim().slice(0, 20)} ${Math.round(r.width)}x${Math.round(r.height)}`);
  });
  document.querySelectorAll('button.primary, .big-button').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width && (r.width < 60 || r.height < 60)) main.push(`${el.textContent.trim()} ${Math.round(r.width)}x${Math.round(r.height)}`);
  });
  const chars = sizes.reduce((n, s) => n + s.chars, 0);
  const big = sizes.filter(s => s.size >= 17.95).reduce((n, s) => n + s.chars, 0);
  return {share18: chars ? big / chars : 1, largest: Math.max(...sizes.map(s => s.size)),
          smallest: sizes.reduce((a, s) => s.size < a.size ? s : a, {size: 999}),
          tight: sizes.filter(s => s.ratio < 1.3).map(s => s.text), small, main,
          overflow: document.documentElement.scrollWidth > innerWidth + 1};
}"""
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(' | '));
}"""


def _household(building: str, unit: str, room: str) -> Household:
    b = db.session.scalar(db.select(Building).where(Building.name == building)) or Building(name=building)
    return Household(building=b, unit=unit, room=room)


def _seed(app) -> dict:
    """A resident, a returnee in home quarantine, a registration poster and a pending entry."""
    from app.health import episodes as health, registrations
    from app.services import issuing
    from app.services.issuing import issue_pass
    with app.app_context():
        people = {}
        for key, name, home in (("plain", "王秀英", ("2号楼", "1单元", "101")),
                                ("quarantine", "李建国", ("2号楼", "1单元", "102"))):
            people[key] = Person(name=name, category="resident", household=_household(*home),
                                 phone=f"1391234{len(people):04d}", id_card_masked="1101**********1234")
            db.session.add(people[key])
        for room in ("201", "202", "301"):
            db.session.add(_household("3号楼", "2单元", room))
        db.session.flush()
        passes = {k: issue_pass(p) for k, p in people.items()}
        health.start_episode(people["quarantine"], datetime.now(timezone.utc) - timedelta(days=2))
        gate = Gate(name="东门")
        db.session.add(gate)
        db.session.flush()
        reg = registrations.submit(registrations.Arrival(
            name="赵小红", phone="13800001111", id_card="110101199001011234", origin="海南省三亚市",
            arrived_on=datetime.now(timezone.utc).date(), travel_mode="flight", travel_number="HU7181",
            household_id=passes["plain"].person.household_id, reason="返乡", symptoms=[]), gate, "10.0.0.9")
        from app.duty import guards as duty
        from browser_helpers import add_user
        add_user("office", "office", GUARD_PASSWORD, "物业小张")
        user = add_user("guard", "guard", GUARD_PASSWORD, "门卫老刘")
        db.session.flush()
        duty.add_guard("门卫老刘", user_id=user.id)
        night = duty.add_guard("夜班老王")
        duty.sign_on(night, gate)
        duty.sign_off(night, gate, "北侧路灯不亮，已报物业；3号楼 502 的快递放在货架上，住户明早来取。" * 2)
        db.session.commit()
        from app.services import households
        links = {k: f"/p/{issuing.resident_link_token(p)}" for k, p in passes.items()}
        family_home = passes["plain"].person.household
        people["quarantine"].household = family_home  # one household, two members
        db.session.commit()
        links["family"] = f"/p/home/{households.link_token(family_home)}"
        return {**links, "code": passes["plain"].code,
                "register": f"/register/{registrations.poster_token(gate)}",
                "status": f"/register/status/{registrations.status_token(reg)}"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("phones"), DYNAMIC_TOKEN_REFRESH=2,
                            DYNAMIC_TOKEN_MAX_AGE=MAX_AGE)
    server.seeded = _seed(server.app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(live):
    assert AXE.exists(), "axe-core is missing: run `make vendor` (package.json)"
    with chromium() as b:
        yield b


@contextmanager
def _phone(browser, size: str = "390x844"):
    """(context, page) on a phone: touch, 2x pixels, Chinese, Beijing time; closed after the
    block. CSP bypassed only so that the test can add axe-core to the page."""
    context = new_context(browser, {"viewport": PHONES[size], "device_scale_factor": 2,
                                    "is_mobile": True, "has_touch": True}, bypass_csp=True)
    try:
        yield context, context.new_page()
    finally:
        context.close()


def _check(page, name: str) -> dict:
    """Measure the page open in ``page`` and assert the rules; returns the numbers."""
    numbers = page.evaluate(MEASURE, TARGETS)
    page.add_script_tag(path=str(AXE))
    numbers["axe"] = page.evaluate(AXE_RUN)
    print(name, json.dumps({k: numbers[k] for k in ("share18", "largest", "smallest")}, ensure_ascii=False))
    assert numbers["axe"] == [], name
    assert numbers["smallest"]["size"] >= 17.95, (name, numbers["smallest"])
    assert numbers["tight"] == [], (name, numbers["tight"])
    assert numbers["small"] == [], (name, numbers["small"])
    assert numbers["main"] == [], (name, numbers["main"])
    assert not numbers["overflow"], f"{name}: scrolls sideways"
    return numbers


PAGES = {  # page -> (path key or path, selector of its largest words: the status or verdict)
    "pass": ("plain", "#status"),
    "quarantine": ("quarantine", "#status"),
    "find": ("/p/find", "h1"),
    "register": ("register", "h1"),
    "status": ("status", "#state h2"),
    "verify": ("/verify/not-a-certificate", "#verdict h2"),
    "family": ("family", "#status"),
}


@pytest.mark.parametrize("size", PHONES)
def test_every_resident_page_meets_the_elderly_friendly_rules(live, browser, size):
    with _phone(browser, size) as (context, page):
        for name, (key, biggest) in PAGES.items():
            page.goto(live.url + live.seeded.get(key, key))
            numbers = _check(page, f"{name}@{size}")
            status_px = float(page.eval_on_selector(biggest, "e => getComputedStyle(e).fontSize")[:-2])
            if name in ("pass", "quarantine", "status", "verify"):
                assert status_px >= 30 and numbers["largest"] >= 30, (name, status_px)


def test_the_pass_says_what_it_is_in_words_and_large_text_sticks(live, browser):
    with _phone(browser) as (context, page):
        page.goto(live.url + live.seeded["quarantine"])
        status = page.locator("#status")
        expect(status).to_have_text("居家隔离中，请勿外出")
        colour = status.evaluate("e => getComputedStyle(e).color")
        assert colour != "rgb(27, 107, 51)"  # not the green of 有效
        page.wait_for_timeout(2500)  # one refresh from qr.json keeps the words
        expect(status).to_have_text("居家隔离中，请勿外出")
        page.screenshot(path=str(IMG / "phone-pass-quarantine.png"), full_page=True)

        page.goto(live.url + live.seeded["plain"])
        expect(page.locator("#status")).to_have_text("有效，可以通行")
        page.screenshot(path=str(IMG / "phone-pass.png"))
        size = lambda: float(page.eval_on_selector("#status", "e => getComputedStyle(e).fontSize")[:-2])
        normal = size()
        # the phone's own font setting: a larger root font size enlarges everything (rem)
        page.evaluate("document.documentElement.style.fontSize = '150%'")
        assert size() == pytest.approx(normal * 1.5, rel=0.02)
        page.evaluate("document.documentElement.style.fontSize = ''")
        # the 大字 switch, remembered after a reload
        page.click("#big-text")
        assert size() == pytest.approx(normal * 1.25, rel=0.02)
        page.reload()
        expect(page.locator("#big-text")).to_have_attribute("aria-pressed", "true")
        assert size() == pytest.approx(normal * 1.25, rel=0.02)
        _check(page, "pass-large")
        page.screenshot(path=str(IMG / "phone-pass-large.png"))
        page.click("#big-text")


def test_offline_the_code_is_hidden_and_the_page_says_what_to_do(live, browser):
    with _phone(browser) as (context, page):
        page.goto(live.url + live.seeded["plain"])
        expect(page.locator("#qr svg")).to_be_visible()
        context.set_offline(True)
        expect(page.locator("#refresh-note")).to_contain_text("网络中断", timeout=MAX_AGE * 1000)
        expect(page.locator("#stale-words")).to_be_visible(timeout=(MAX_AGE + 3) * 1000)
        expect(page.locator("#stale-words")).to_contain_text("手机没有网络")
        expect(page.locator("#stale-words")).to_contain_text(live.seeded["code"])
        expect(page.locator("#status")).to_have_text("二维码已过期（无网络）")
        assert page.locator("#qr svg").evaluate("e => getComputedStyle(e).visibility") == "hidden"
        page.screenshot(path=str(IMG / "phone-pass-offline.png"))
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.locator("#status")).to_have_text("有效，可以通行", timeout=10_000)
        expect(page.locator("#stale-words")).to_be_hidden()


def test_registration_picks_the_home_in_three_steps_and_keeps_what_was_typed(live, browser):
    with _phone(browser) as (context, page):
        page.goto(live.url + live.seeded["register"])
        page.fill("input[name=name]", "孙丽")
        page.fill("input[name=phone]", "1380000")  # too short: refused, everything else kept
        page.fill("input[name=id_card]", "110101199001011234")
        page.fill("input[name=origin]", "湖北省武汉市")
        page.select_option("select[name=travel_mode]", "train")
        page.select_option("select[name=building]", "3号楼")
        assert page.eval_on_selector_all("select[name=room] option", "os => os.map(o => o.textContent)")[1:] \
            == ["201", "202", "301"]  # only that building's rooms (its one unit is chosen for you)
        page.select_option("select[name=room]", "202")
        page.click("label.consent")
        page.screenshot(path=str(IMG / "phone-register.png"), full_page=True)
        page.click("button[type=submit]")
        expect(page.locator(".field-error")).to_have_count(1)
        assert page.input_value("input[name=name]") == "孙丽"
        assert page.input_value("input[name=id_card]") == "110101199001011234"
        assert page.input_value("select[name=building]") == "3号楼"
        assert page.input_value("select[name=room]") == "202"


def test_the_family_link_switches_between_members(live, browser):
    with _phone(browser) as (context, page):
        page.goto(live.url + live.seeded["family"])
        expect(page.locator("#status")).to_have_text("有效，可以通行")
        page.click(".members .member:not(.on)")
        expect(page.locator("#status")).to_have_text("居家隔离中，请勿外出")
        page.wait_for_timeout(2500)  # its code refreshes through the family link
        expect(page.locator("#status")).to_have_text("居家隔离中，请勿外出")
        page.screenshot(path=str(IMG / "phone-family.png"))


def test_the_guards_tablet_lands_on_the_gate_counts_up_and_reloads_offline(live, browser):
    from browser_helpers import log_in
    context = new_context(browser, {"viewport": {"width": 1024, "height": 768}}, bypass_csp=True)
    page = context.new_page()
    try:
        log_in(page, live.url, "guard", GUARD_PASSWORD)
        assert "/office/gate" in page.url  # not the dashboard
        note = page.locator("#handover .note")
        assert note.evaluate("e => e.getBoundingClientRect().width") > 600  # full width, not 120 px
        _axe_clean(page, "gate")
        page.click("[data-open=visitor]")
        page.fill("#panel-visitor input[name=name]", "送水师傅")
        page.click("#panel-visitor button[type=submit]")
        expect(page.locator("[data-open=visitor] small.today")).to_have_text("今日 1")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("navigator.serviceWorker.controller !== null || caches.has('gatepass-gate')")
        page.wait_for_timeout(500)
        context.set_offline(True)
        page.reload()
        expect(page.locator("#kinds")).to_be_visible()  # the gate page, from the tablet's copy
        context.set_offline(False)
    finally:
        context.close()


OFFICE_PAGES = ("/office/", "/office/people", "/office/households", "/office/passes", "/office/scans",
                "/office/roster", "/office/print", "/office/outside", "/office/logbook")


def test_the_office_pages_have_no_serious_accessibility_findings(live, browser):
    from browser_helpers import log_in
    context = new_context(browser, bypass_csp=True)
    try:
        page = context.new_page()
        log_in(page, live.url, "office", GUARD_PASSWORD)
        for path in OFFICE_PAGES:
            page.goto(live.url + path)
            _axe_clean(page, path)
    finally:
        context.close()


def _axe_clean(page, name: str) -> None:
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == [], name
