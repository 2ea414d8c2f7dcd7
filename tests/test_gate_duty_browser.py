"""The gate page and the phone spot-check page in a real headless Chromium.

The camera is Chromium's fake capture device playing a .y4m video made here
from a rendered pass QR, so jsQR in the page decodes a real picture; the
typed fallback and the offline queue (``context.set_offline``) are driven
as a guard would, and the database is checked for exactly one row each.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.extensions import db
from app.duty.models import GateEvent, Place, SpotCheck
from app.models import Person
from app.duty import guards as duty
from app.services.devices import create_device
from app.services.issuing import issue_pass, static_token
from gatepass import qrimage
from browser_helpers import (CHROMIUM_ARGS, PHONE, add_user, browser_server, launch, log_in,
                             new_context)
from helpers import chromium_path

pytestmark = pytest.mark.browser

PASSWORD = "guard-pw-1234"
TABLET = {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("GATEPASS_SHOTS")  # a folder: save screenshots to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _seed(app) -> dict:
    with app.app_context():
        u = add_user("guard", "guard", PASSWORD, "门岗 赵")
        db.session.flush()
        device, _token = create_device("东门", "东门-1")
        duty.add_guard("赵师傅", pin="1234", user_id=u.id)
        duty.add_guard("钱志愿者", kind="volunteer", pin="5678")
        person = Person(name="孙查验", category="resident", phone="13911112222")
        db.session.add(person)
        db.session.flush()
        p = issue_pass(person)
        db.session.add(Place(name="清河一街6号院", check_every_hours=4))
        db.session.commit()
        return {"gate_id": device.gate_id, "pass_id": p.id, "code": p.code,
                "token": static_token(p)}


def _y4m(path: Path, text: str, size=(640, 480), frames=6) -> Path:
    """A short I420 video of a pass QR on a grey desk, as Chromium's fake camera plays it."""
    qr = np.asarray(Image.open(__import__("io").BytesIO(qrimage.png(text, 6))).convert("L"))
    w, h = size
    side = min(h - 60, qr.shape[0])
    qr = cv2.resize(qr, (side, side), interpolation=cv2.INTER_NEAREST)
    frame = np.full((h, w), 150, np.uint8)
    y0, x0 = (h - side) // 2, (w - side) // 2
    frame[y0:y0 + side, x0:x0 + side] = qr
    bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            fh.write(b"FRAME\n" + yuv)
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("duty-live"))
    server.seeded = _seed(server.app)
    server.video = _y4m(tmp_path_factory.mktemp("cam") / "pass.y4m", server.seeded["token"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pw():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw, live):
    b = launch(pw, chromium_path())
    yield b
    b.close()


@pytest.fixture(scope="module")
def camera_browser(pw, live):
    b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={live.video}"])
    yield b
    b.close()


def _context(browser, live, device=TABLET):
    context = new_context(browser, device)
    page = context.new_page()
    log_in(page, live.url, "guard", PASSWORD)
    return context, page


def _count(live, model, **where) -> int:
    with live.app.app_context():
        stmt = db.select(db.func.count(model.id))
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        n = db.session.scalar(stmt)
        db.session.remove()
        return n


def test_gate_page_sign_on_record_double_tap_and_offline(browser, live):
    context, page = _context(browser, live)
    gid = live.seeded["gate_id"]
    page.goto(f"{live.url}/office/gate?gate={gid}")
    assert "还没有人上岗" in page.locator("#on-duty").inner_text()
    page.fill(".signon input[name=pin]", "5678")
    page.click(".signon button:not([name=me])")
    page.wait_for_load_state()
    assert "钱志愿者" in page.locator("#on-duty .guards").inner_text()
    _shot(page, "gate-tablet")

    # a turn-away: tap the kind, tap a reason, save
    page.click("[data-open=turn_away]")
    page.click("#panel-turn_away label.choice:has-text('外来人员')")
    page.fill("#panel-turn_away textarea[name=note]", "坚持探望朋友，劝返")
    _shot(page, "gate-tablet-turn-away")
    page.click("#panel-turn_away button[type=submit]")
    page.locator("#toast.ok").wait_for()
    assert "已登记" in page.locator("#toast").inner_text()
    with live.app.app_context():
        e = db.session.scalar(db.select(GateEvent).where(GateEvent.kind == "turn_away"))
        assert e.fields == {"reason": "outsider"} and e.note == "坚持探望朋友，劝返"
        assert e.guard.name == "钱志愿者" and e.gate_id == gid
        db.session.remove()

    # a double tap on save stores one courier
    page.click("[data-open=courier]")
    page.fill("#panel-courier input[name=company]", "顺丰")
    page.fill("#panel-courier input[name=parcels]", "12")
    page.eval_on_selector("#panel-courier", "f => { f.requestSubmit(); f.requestSubmit(); }")
    page.locator("#toast.ok").wait_for()
    page.wait_for_timeout(500)
    assert _count(live, GateEvent, kind="courier") == 1

    # no network: the visitor waits on the tablet, then goes up exactly once
    context.set_offline(True)
    page.click("[data-open=visitor]")
    page.fill("#panel-visitor input[name=name]", "周访客")
    page.fill("#panel-visitor input[name=host_household]", "3号楼301")
    page.click("#panel-visitor button[type=submit]")
    page.locator("#toast.warn").wait_for()
    assert page.locator("#outbox").is_visible() and "1" in page.locator("#outbox").inner_text()
    assert _count(live, GateEvent, kind="visitor") == 0
    context.set_offline(False)
    page.locator("#outbox").wait_for(state="hidden")
    assert _count(live, GateEvent, kind="visitor") == 1
    page.reload()
    page.wait_for_timeout(800)
    assert _count(live, GateEvent, kind="visitor") == 1
    assert "周访客" in page.locator("#recent").inner_text()

    # sign off with a note; the next guard (own login) sees the handover
    page.click("#on-duty details.signoff summary")
    page.fill("#on-duty textarea[name=note]", "北侧路灯不亮")
    page.click("#on-duty details.signoff button[type=submit]")
    page.wait_for_load_state()
    page.click(".signon button[name=me]")
    page.wait_for_load_state()
    handover = page.locator("#handover")
    assert "北侧路灯不亮" in handover.inner_text() and "钱志愿者" in handover.inner_text()
    assert "快递" in handover.inner_text()
    _shot(page, "gate-tablet-handover")
    context.close()

    context, page = _context(browser, live, PHONE)
    page.goto(f"{live.url}/office/gate?gate={gid}")
    _shot(page, "gate-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the gate page fits a phone without sideways scrolling"
    box = page.locator("[data-open=turn_away]").bounding_box()
    assert box["height"] >= 60 and box["width"] >= 140, "big targets for gloved fingers"
    context.close()


def test_spot_check_reads_a_pass_from_the_phone_camera(camera_browser, live):
    context, page = _context(camera_browser, live, PHONE)
    context.grant_permissions(["camera"], origin=live.url)
    page.goto(f"{live.url}/office/spot")
    page.click("#start-camera")
    verdict = page.locator("#verdict[data-result=ok]")
    verdict.wait_for(timeout=20_000)
    assert "通过" in verdict.inner_text() and "孙*验" in verdict.inner_text()
    _shot(page, "spot-phone-camera")
    with live.app.app_context():
        check = db.session.scalar(db.select(SpotCheck).order_by(SpotCheck.id.desc()))
        assert check.pass_id == live.seeded["pass_id"] and check.reason == "OK"
        assert check.place.name == "清河一街6号院"
        db.session.remove()
    context.close()


def test_spot_check_typed_code_and_offline_queue(browser, live):
    context, page = _context(browser, live, PHONE)
    page.goto(f"{live.url}/office/spot")
    before = _count(live, SpotCheck)
    page.fill("#code", live.seeded["code"].lower())
    page.click("#typed button[type=submit]")
    page.locator("#verdict[data-result=ok]").wait_for()
    pid = live.seeded["pass_id"]
    page.fill("#code", f"P{pid:06d}-7")
    page.click("#typed button[type=submit]")
    page.locator("#verdict[data-result=deny]").wait_for()
    assert _count(live, SpotCheck) == before + 2
    _shot(page, "spot-phone-typed")

    context.set_offline(True)
    page.fill("#code", live.seeded["code"])
    page.click("#typed button[type=submit]")
    page.locator("#verdict[data-result=wait]").wait_for()
    page.click("#visit")
    page.wait_for_timeout(200)
    assert page.evaluate("JSON.parse(localStorage.getItem('gatepass.spot-checks.' + "
                         "document.getElementById('spot').dataset.user)).length") == 2
    assert _count(live, SpotCheck) == before + 2
    _shot(page, "spot-phone-offline")
    context.set_offline(False)
    page.locator("#outbox").wait_for(state="hidden")
    assert _count(live, SpotCheck) == before + 4
    page.reload()
    page.wait_for_timeout(800)
    assert _count(live, SpotCheck) == before + 4
    context.close()


def test_spot_check_big_box_tells_the_truth_about_queued_and_typed_checks(browser, live):
    """A typed code says it was checked by number only; a check queued offline and delivered
    later updates the big box; a queued check the service refuses shows the refusal; a lost
    reply while the network is up is not called 无网络."""
    context, page = _context(browser, live, PHONE)
    page.goto(f"{live.url}/office/spot")
    verdict = page.locator("#verdict")
    page.fill("#code", live.seeded["code"])
    page.click("#typed button[type=submit]")
    page.locator("#verdict[data-result=ok][data-typed='1']").wait_for()
    assert page.inner_text("#verdict-word") == "编号有效" and "仅按编号查验" in verdict.inner_text()

    # queued offline, delivered later: the big box shows the answer
    context.set_offline(True)
    page.fill("#code", live.seeded["code"])
    page.click("#typed button[type=submit]")
    page.locator("#verdict[data-result=wait]").wait_for()
    assert "无网络" in verdict.inner_text()
    context.set_offline(False)
    page.locator("#verdict[data-result=ok][data-later='1']").wait_for()
    assert "孙*验" in verdict.inner_text()

    # queued offline, refused when delivered (the place is gone): the refusal shows
    context.set_offline(True)
    page.evaluate("var o = document.createElement('option'); o.value = '987654'; o.textContent = 'x';"
                  "document.getElementById('place').appendChild(o);"
                  "document.getElementById('place').value = '987654';")
    page.click("#visit")
    page.locator("#verdict[data-result=wait]").wait_for()
    context.set_offline(False)
    page.locator("#verdict[data-result=deny][data-later='1']").wait_for()
    assert "未能记录" in verdict.inner_text()
    page.evaluate("document.getElementById('place').selectedIndex = 0")

    # the reply is lost on a network that is up: not 无网络
    page.route("**/office/spot/checks", lambda route: route.abort())
    page.click("#visit")
    page.locator("#verdict[data-result=wait]").wait_for()
    assert "无网络" not in verdict.inner_text() and "未收到回复" in verdict.inner_text()
    page.unroute("**/office/spot/checks")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.locator("#verdict[data-result=ok][data-later='1']").wait_for()
    assert "巡查已记录" in verdict.inner_text()
    context.close()


def test_an_entry_made_after_the_login_expired_is_kept_and_sent_after_login(browser, live):
    context, page = _context(browser, live)
    gid = live.seeded["gate_id"]
    page.goto(f"{live.url}/office/gate?gate={gid}")
    # the service worker has kept its copy of the page (its fetch would bring the cookie back)
    page.locator("html[data-offline-ready]").wait_for(state="attached")
    before = _count(live, GateEvent, kind="vehicle")
    context.clear_cookies()  # the session ended (logged out elsewhere, cookie expired)
    page.click("[data-open=vehicle]")
    page.fill("#panel-vehicle input[name=plate]", "冀F12345")
    page.click("#panel-vehicle button[type=submit]")
    page.locator("#toast.warn").wait_for()  # kept on the tablet, not dropped
    assert _count(live, GateEvent, kind="vehicle") == before
    log_in(page, live.url, "guard", PASSWORD)
    page.goto(f"{live.url}/office/gate?gate={gid}")
    page.locator("#outbox").wait_for(state="hidden")
    assert _count(live, GateEvent, kind="vehicle") == before + 1
    with live.app.app_context():
        e = db.session.scalar(db.select(GateEvent).where(GateEvent.kind == "vehicle"))
        assert e.fields["plate"] == "冀F12345"
        db.session.remove()
    context.close()
