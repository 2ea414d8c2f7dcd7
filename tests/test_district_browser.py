"""/district/ in a real Chromium, on a desktop (1280 px) and a phone (390 px): axe-core finds
nothing serious, text is as large as elderly staff need, the table scrolls inside its own box
(never the page), both charts are drawn by the vendored Chart.js, a column sorts on a click, and
the drill-down shows the banner and comes back. Screenshots: docs/img/district.png (desktop) and
docs/img/district-phone.png.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Gate, GateDevice, Pass, Person, Scan
from app.models.communities import Community
from browser_helpers import PHONE, add_user, browser_server, chromium, log_in, new_context

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "build" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
IMG = ROOT / "docs" / "img"
PASSWORD = "district-pw-123"
NAMES = ["幸福里社区", "光明社区", "桂花园社区", "东湖新村", "水果湖社区", "中南二路社区",
         "梨园社区", "珞珈山社区"]
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(' | '));
}"""
SMALLEST_TEXT = """() => {
  let smallest = 999;
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim()) continue;
    if (el.closest('script,style,noscript,option')) continue;
    const r = el.getBoundingClientRect();
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (r.width && r.height) smallest = Math.min(smallest, size);
  }
  return smallest;
}"""


def _seed(app) -> None:
    """Eight communities of one sub-district with a believable morning, one of another."""
    rng = random.Random(18)
    now = datetime.now(timezone.utc)
    with app.app_context():
        for i, name in enumerate(NAMES + ["别处社区"], 1):
            c = db.session.scalar(db.select(Community).where(Community.code == f"c{i}")) \
                or Community(code=f"c{i}")
            c.name, c.kind = name, "community"
            c.subdistrict = "水果湖街道" if i <= len(NAMES) else "别的街道"
            db.session.add(c)
            db.session.flush()
            people = [Person(name=f"居民{i}-{n}", phone=f"139{i:02d}{n:06d}", community_id=c.id)
                      for n in range(rng.randint(5, 30))]
            db.session.add_all(people)
            db.session.flush()
            db.session.add_all(Pass(person_id=p.id, category="resident", community_id=c.id)
                               for p in people)
            for g in range(rng.randint(1, 3)):
                gate = Gate(name=f"{'东南西北'[g]}门", community_id=c.id)
                db.session.add(gate)
                db.session.flush()
                db.session.add(GateDevice(gate_id=gate.id, name="笔记本", community_id=c.id,
                                          token_hash=f"{i:02d}{g}".ljust(64, "0"),
                                          last_seen_at=now - timedelta(
                                              minutes=rng.choice([1, 2, 40]))))
                for n in range(rng.randint(10, 120)):
                    db.session.add(Scan(nonce=f"{i}-{g}-{n}", gate_id=gate.id, direction="in",
                                        scanned_at=now - timedelta(seconds=rng.randint(0, 3000)),
                                        allowed=rng.random() > 0.08, reason="OK",
                                        community_id=c.id))
            if i in (2, 5):
                from app.health import alerts
                for _ in range(i // 2):
                    alerts.open_alert("fever", "gate", temperature=37.9).community_id = c.id
        add_user("district", "district", PASSWORD, "水果湖街道办").subdistrict = "水果湖街道"
        db.session.commit()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = browser_server(tmp_path_factory.mktemp("district"))
    _seed(server.app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(live):
    assert AXE.exists(), "axe-core is missing: run `make vendor` (package.json)"
    with chromium() as b:
        yield b


def _check(page, name: str) -> None:
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == [], name
    assert page.evaluate(SMALLEST_TEXT) >= 14.95, name  # 15 px at the least, most text 17
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1"), \
        f"{name}: the page scrolls sideways"
    for chart in ("traffic-chart", "alerts-chart"):
        assert page.evaluate(f"!!Chart.getChart(document.getElementById('{chart}'))"), chart


@pytest.mark.parametrize("device,shot", [({"viewport": {"width": 1280, "height": 900}}, "district"),
                                         (PHONE, "district-phone")])
def test_the_sub_districts_page_in_a_browser(live, browser, device, shot):
    context = new_context(browser, device, bypass_csp=True)
    try:
        page = context.new_page()
        log_in(page, live.url, "district", PASSWORD)
        assert page.url.endswith("/district/")
        rows = page.locator("#rollup tbody tr")
        expect(rows).to_have_count(len(NAMES))
        expect(page.locator("#rollup")).not_to_contain_text("别处社区")
        expect(rows.first).to_contain_text("水果湖社区")  # two open alerts, the most: worst first
        page.wait_for_timeout(300)
        page.screenshot(path=str(IMG / f"{shot}.png"), full_page=shot == "district")
        _check(page, shot)

        page.click("#rollup thead a:text('今日通行')")
        expect(page.locator("#rollup thead th[aria-sort=descending]")).to_contain_text("今日通行")
        scans = [int(t) for t in page.locator("#rollup tbody td[data-col=scans]").all_inner_texts()]
        assert scans == sorted(scans, reverse=True)

        page.click("#rollup tbody tr[data-code=c3] th a")
        expect(page.locator("#drill-banner")).to_contain_text("正在查看：桂花园社区")
        page.click("#drill-banner a")
        expect(page.locator("#drill-banner")).to_have_count(0)
        expect(page.locator("#rollup tbody tr")).to_have_count(len(NAMES))
    finally:
        context.close()
