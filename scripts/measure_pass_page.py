"""The resident's pass page on a slow phone network: bytes per file (as sent, and gzipped
as the proxy sends them, docs/deploy.md) and the load time under Chrome's "Slow 3G" profile
(2 s round trip, 400 kbit/s). Prints a Markdown table for the README.

    .venv/bin/python scripts/measure_pass_page.py
"""
from __future__ import annotations

import gzip
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_helpers import LiveServer, chromium, new_context, PHONE  # noqa: E402

SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}


def main() -> None:
    from app.extensions import db
    from app.models import Building, Household, Person
    from app.services import issuing
    server = LiveServer.start(Path(tempfile.mkdtemp()))
    with server.app.app_context():
        person = Person(name="王秀英", category="resident", phone="13912340000",
                        household=Household(building=Building(name="2号楼"), unit="1单元", room="101"))
        db.session.add(person)
        p = issuing.issue_pass(person)
        db.session.commit()
        url = f"{server.url}/p/{issuing.resident_link_token(p)}"
    sizes: dict[str, tuple[int, int]] = {}
    with chromium() as browser:
        context = new_context(browser, PHONE)
        page = context.new_page()
        page.on("requestfinished", lambda r: sizes.setdefault(r.url, (0, 0)))
        page.goto(url)
        for u in list(sizes):
            body = urllib.request.urlopen(u).read()
            sizes[u] = (len(body), len(gzip.compress(body)))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        times = []
        for _ in range(3):
            page.goto(url, wait_until="load")
            times.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            if "-v" in sys.argv:
                print(page.evaluate("performance.getEntriesByType('resource').map(r => [r.name.split('/').pop(), Math.round(r.startTime), Math.round(r.responseEnd)])"))
        context.close()
    server.stop()
    print("| file | bytes | gzipped |\n|---|---|---|")
    for u, (raw, gz) in sizes.items():
        if not raw:  # the favicon: fetched after the load, from the browser cache
            continue
        print(f"| {u.split('/')[-1].split('?')[0] if '/static/' in u else 'page (HTML)'} | {raw:,} | {gz:,} |")
    raw, gz = sum(s[0] for s in sizes.values()), sum(s[1] for s in sizes.values())
    print(f"| **total** | **{raw:,}** | **{gz:,}** |")
    print(f"\nSlow 3G (uncompressed, no cache), load event: {min(times) / 1000:.1f} s (best of 3)")


if __name__ == "__main__":
    main()
