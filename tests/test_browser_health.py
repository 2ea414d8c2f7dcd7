"""A returnee's whole stay, on a phone-sized Chromium: poster QR → registration → approval →
pass link → 38.1 °C reported on the phone → alert closed → episode ended → certificate PDF →
its QR → the public check page says 有效.

Set ``GATEPASS_SCREENSHOTS=DIR`` to keep a PNG of each step (the docs' pictures come from here).
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import Gate
from browser_helpers import PHONE, add_user, browser_server, chromium, log_in, new_context
from test_registration import pdf_qr_texts

pytestmark = pytest.mark.browser
TZ = ZoneInfo("Asia/Shanghai")
SHOTS = os.environ.get("GATEPASS_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("live-health"))
    server.app.config["PUBLIC_BASE_URL"] = server.url  # what posters and certificates print
    from app.demo import build_community
    with server.app.app_context():
        build_community(200, scans=False)
        add_user("doctor", "health", "doctor-pw-1234", "社区医生 李大夫")
        db.session.commit()
    yield server
    server.stop()


def test_a_returnees_stay_from_poster_to_certificate(live, tmp_path):
    from app.health import registrations
    from app.health.pdf import poster
    with live.app.app_context():
        gate = db.session.scalar(db.select(Gate).where(Gate.name == "东门"))
        (tmp_path / "poster.pdf").write_bytes(poster("幸福里社区", gate.name, registrations.poster_url(gate)))
    [poster_url] = pdf_qr_texts(tmp_path / "poster.pdf")
    assert poster_url.startswith(live.url + "/register/")
    arrived = (datetime.now(TZ) - timedelta(days=14)).date().isoformat()

    with chromium() as browser:
        phone = new_context(browser, PHONE).new_page()
        staff = new_context(browser, accept_downloads=True).new_page()

        # 1. the arrival scans the poster and registers on the phone
        phone.goto(poster_url)
        assert phone.locator("h1").inner_text() == "返乡人员扫码登记"
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the form fits a phone's width"
        phone.fill("input[name=name]", "林晓梅")
        phone.fill("input[name=phone]", "13612345678")
        phone.fill("input[name=id_card]", "460200199203154321")
        phone.fill("input[name=origin]", "海南省三亚市")
        phone.fill("input[name=arrived_on]", arrived)
        phone.select_option("select[name=travel_mode]", "flight")
        phone.fill("input[name=travel_number]", "HU7181")
        for step in ("building", "unit", "room"):  # the home in three steps (issue 17)
            phone.select_option(f"select[name={step}]", index=1)
        shot(phone, "register-phone")
        phone.click("button[type=submit]")
        assert "须同意处理健康信息才能登记" in phone.content()  # consent is required
        phone.fill("input[name=id_card]", "460200199203154321")  # never echoed back
        phone.check("input[name=consent]")
        phone.click("button[type=submit]")
        phone.wait_for_url("**/register/status/**")
        status_url = phone.url
        assert "待审核" in phone.locator("#state").inner_text()
        shot(phone, "status-pending")

        # 2. health staff approve it
        log_in(staff, live.url, "doctor", "doctor-pw-1234")
        assert staff.locator("#nav-registrations .count").inner_text() == "4"  # 3 from the demo + hers
        staff.goto(f"{live.url}/office/registrations")
        card = staff.locator("section.registration", has_text="林晓梅")
        assert "海南省三亚市" in card.inner_text() and "4602**********4321" in card.inner_text()
        card.locator("button.primary").click()
        staff.wait_for_load_state()
        assert "已通过：林晓梅" in staff.locator(".flash").inner_text()

        # 3. the arrival's status link now opens the pass; she reports a fever on the phone
        phone.goto(status_url)
        assert "已通过" in phone.locator("#state").inner_text()
        phone.click("#pass-link")
        phone.wait_for_url("**/p/**")
        report = phone.locator("#report")
        # arrived 14 days ago: the stay has run its days and waits for the doctor to end it
        assert "已满 14 天，等待社区解除" in report.inner_text()
        phone.fill("#report input[name=value]", "38.1")
        phone.check("#report input[value=咳嗽]")
        phone.click("#report button[type=submit]")
        phone.wait_for_load_state()
        assert "社区医生会尽快联系您" in phone.locator(".flash").inner_text()
        shot(phone, "pass-report")

        # 4. staff see the alert and close it
        staff.goto(f"{live.url}/office/alerts")
        row = staff.locator("#open-alerts tr", has_text="林晓梅")
        assert "38.1℃" in row.inner_text() and "咳嗽" in row.inner_text()
        row.locator("select[name=action]").select_option("remeasured")
        row.locator("button[type=submit]").click()
        staff.wait_for_load_state()
        assert "林晓梅" not in staff.locator("#open-alerts").inner_text()

        # 5. end the episode (past its planned end, no open alert) and issue the certificate
        staff.goto(f"{live.url}/office/registrations")
        staff.locator("#decided tr", has_text="林晓梅").locator("a", has_text="隔离页面").click()
        staff.wait_for_load_state()
        assert staff.locator("#temperature-chart").is_visible()
        assert staff.evaluate("!!Chart.getChart(document.getElementById('temperature-chart'))")
        shot(staff, "episode-desktop")
        assert staff.locator("#end-episode select[name=outcome]").input_value() == "completed"
        staff.click("#end-episode button[type=submit]")
        staff.wait_for_load_state()
        assert "期满解除" in staff.locator("#ended").inner_text()
        staff.click("#issue-certificate")
        staff.wait_for_load_state()
        with staff.expect_download() as dl:
            staff.click("#certificate-pdf")
        pdf = tmp_path / "certificate.pdf"
        dl.value.save_as(pdf)

        # 6. the certificate's QR opens the public check page on any phone
        [url] = pdf_qr_texts(pdf)
        assert urlsplit(url).path.startswith("/verify/GHC.")
        phone.goto(url)
        verdict = phone.locator("#verdict")
        assert verdict.get_attribute("data-state") == "valid" and "有效" in verdict.inner_text()
        assert "林*梅" in phone.content() and "林晓梅" not in phone.content()
        shot(phone, "verify-phone")
