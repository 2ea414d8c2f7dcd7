"""In a real Chromium, under the Content-Security-Policy: no page breaks a rule, the
behaviours moved out of inline handlers (static/app.js) still work, and an admin gets a
setup QR that reads back as the enrolment text."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from browser_helpers import add_user, browser_server, chromium, decode_qr, log_in, new_context

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("live"))
    from app.demo import build_community
    with server.app.app_context():
        build_community(60, scans=True)
        add_user("root", "admin", "root-password", "root")
        db.session.commit()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(live):
    with chromium() as browser:
        page = new_context(browser).new_page()
        page.violations = []
        page.on("console", lambda m: "Content Security Policy" in m.text
                and page.violations.append(m.text))
        log_in(page, live.url, "root", "root-password")
        yield page


def test_office_pages_break_no_csp_rule(page, live):
    for path in ("/office/", "/office/people", "/office/passes", "/office/scans", "/office/rules",
                 "/office/devices", "/office/audit", "/office/print", "/office/outside"):
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
    assert page.violations == []
    page.goto(live.url + "/office/")
    page.locator("svg#hourly-chart").wait_for(state="visible")  # inline script with its nonce


def test_behaviours_from_app_js_work(page, live):
    page.goto(live.url + "/office/passes")
    page.check("input[data-check-all]")
    boxes = page.locator("input[name=ids]")
    assert boxes.count() > 0 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("button[value=revoke]")
    assert dialogs and "作废" in dialogs[0]
    assert page.url.endswith("/office/passes")  # dismissed: nothing was sent


def test_admin_creates_a_gate_and_gets_a_readable_setup_qr(page, live, tmp_path):
    page.goto(live.url + "/office/devices")
    page.fill("input[name=gate]", "南门")
    page.click("form.card button[type=submit]")
    page.locator(".setup-qr svg").wait_for(state="visible")
    shot = page.locator(".setup-qr").screenshot(path=str(tmp_path / "setup.png"))
    [text] = decode_qr(shot)
    assert re.fullmatch(r"gatepass-enroll:[A-Za-z0-9_-]{32}\?server=http%3A%2F%2F127\.0\.0\.1%3A\d+",
                        text), text
    page.screenshot(path=str(tmp_path / "devices-setup-page.png"), full_page=True)
    assert page.violations == []


def test_a_refused_form_comes_back_to_its_page_without_a_referer(page, live):
    """No Referer is sent (no-referrer), yet a refused form returns to the page it was on."""
    page.goto(live.url + "/office/rules?lang=zh")
    hours = page.locator("input[name=hours]").first
    hours.fill("25:00-26:00")
    hours.press("Enter")  # submits its row's form
    page.wait_for_load_state()
    assert page.url.startswith(live.url + "/office/rules")
    assert page.locator(".flash.error").count() == 1
