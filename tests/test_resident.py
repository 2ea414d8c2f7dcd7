"""The resident's phone page, reached through a signed personal link."""
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import zxingcpp
from freezegun import freeze_time

from app.extensions import db
from app.models import Pass
from app.services import issuing
from helpers import csrf_token, login


def link_for(app, pid):
    with app.app_context():
        return issuing.resident_link_token(db.session.get(Pass, pid))


def svg_to_text(svg: str) -> str:
    n = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    grid = np.full((n, n), 255, np.uint8)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        grid[int(y), int(x):int(x) + int(w)] = 0
    found = zxingcpp.read_barcodes(np.kron(grid, np.ones((6, 6), np.uint8)),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    return found[0].text


def test_pass_page_shows_masked_holder_and_a_live_code(app, client, make, scan):
    pid = make.pass_for(name="欧阳娜娜", building="5号楼", unit="1单元", room="602")
    r = client.get(f"/p/{link_for(app, pid)}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "欧**娜" in page and "欧阳娜娜" not in page
    assert "5号楼1单元602" in page and "居民" in page
    assert r.headers["Cache-Control"] == "no-store"
    token = svg_to_text(page[page.index("<svg"):page.index("</svg>") + 6])
    assert token.startswith("GPD.")
    assert scan(token, "in").get_json()["reason"] == "OK"


def test_qr_json_refreshes_and_old_codes_go_stale(app, client, make, scan):
    pid = make.pass_for()
    link = link_for(app, pid)
    t0 = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    with freeze_time(t0):
        first = client.get(f"/p/{link}/qr.json").get_json()
    with freeze_time(t0 + timedelta(seconds=30)):
        second = client.get(f"/p/{link}/qr.json").get_json()
    assert first["refresh"] == 30 and first["status"] == "active"
    old, new = svg_to_text(first["svg"]), svg_to_text(second["svg"])
    assert old != new
    with freeze_time(t0 + timedelta(seconds=75)):
        assert scan(old, "in", scanned_at=t0 + timedelta(seconds=75)).get_json()["reason"] == "STALE"
        assert scan(new, "in", scanned_at=t0 + timedelta(seconds=75)).get_json()["reason"] == "OK"


def test_suspended_pass_page_shows_no_code(app, client, make):
    pid = make.pass_for()
    with app.app_context():
        db.session.get(Pass, pid).status = "suspended"
        db.session.commit()
    page = client.get(f"/p/{link_for(app, pid)}").get_data(as_text=True)
    assert "<svg" not in page and "已暂停" in page
    assert client.get(f"/p/{link_for(app, pid)}/qr.json").get_json()["svg"] is None


def test_office_can_revoke_the_link(app, client, make):
    pid = make.pass_for()
    link = link_for(app, pid)
    assert client.get(f"/p/{link}").status_code == 200
    login(client, make, "office")
    client.post(f"/office/passes/{pid}/revoke-link",
                data={"csrf_token": csrf_token(client, "/office/")})
    r = client.get(f"/p/{link}")
    assert r.status_code == 404 and "链接已失效" in r.get_data(as_text=True)
    assert client.get(f"/p/{link_for(app, pid)}").status_code == 200  # the new link works


def test_forged_links_are_404(client):
    for link in ("nope", "WzEsMV0.forged", "x" * 300):
        assert client.get(f"/p/{link}").status_code == 404
        assert client.get(f"/p/{link}/qr.json").status_code == 404
