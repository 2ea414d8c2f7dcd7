"""The office dashboard: hours in local time, denials, who is out, passes held."""
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from app.extensions import db
from app.models import Pass
from app.services.dashboard import nice_step
from helpers import login

TZ = ZoneInfo("Asia/Shanghai")


def _next_evening() -> datetime:
    """21:00 local the day after tomorrow: every hour of that "today" (and of its yesterday)
    a test posts scans at is then past, whatever hour the suite runs at (posting "today
    08:05" at 00:40 would be a scan from the future), and still after the moment the
    fixtures made their passes and devices (forward, never back), even at 23:55."""
    return (datetime.now(TZ) + timedelta(days=2)).replace(hour=21, minute=0, second=0,
                                                          microsecond=0)


def _today():
    return datetime.now(TZ).date()


def _at(hour, minute=0, day=None):
    return datetime.combine(day or _today(), time(hour, minute), TZ)


def _bars(html):
    return [dict(zip(("gate", "direction", "hour", "count"), m)) for m in re.findall(
        r'<rect[^>]*data-gate="([^"]*)" data-direction="(\w+)" data-hour="(\d+)" '
        r'data-count="(\d+)"', html)]


@pytest.mark.both_databases
def test_scans_are_bucketed_by_local_hour_gate_and_direction(client, make, scan, device_token):
    with time_machine.travel(_next_evening()):
        _post_and_check_hourly_buckets(client, make, scan, device_token)


def _post_and_check_hourly_buckets(client, make, scan, device_token):
    assert device_token  # the 东门 device the `scan` fixture posts with
    north = make.device("北门")
    a, b = make.pass_for(name="甲一"), make.pass_for(name="乙二")
    # 00:30 local is 16:30 UTC the day before: it belongs to hour 0 of today.
    assert scan(make.token(a), "out", scanned_at=_at(0, 30)).json["allowed"]
    assert scan(make.token(a), "in", scanned_at=_at(8, 5)).json["allowed"]
    assert scan(make.token(b), "out", scanned_at=_at(8, 55), device=north).json["allowed"]
    assert not scan("GPS.k1.zz.1.AAAAAAAAAAAAAAAAAAAA", "in", scanned_at=_at(9)).json["allowed"]
    # Yesterday 23:50 local must not count today.
    assert scan(make.token(b), "in", scanned_at=_at(23, 50, _today() - timedelta(days=1)),
                device=north).status_code in (200, 201)

    login(client, make, "guard")
    html = client.get("/office/").get_data(as_text=True)
    bars = sorted(_bars(html), key=lambda r: (r["hour"], r["direction"]))
    assert [(r["gate"], r["direction"], int(r["hour"]), int(r["count"])) for r in bars] == \
        sorted([("东门", "out", 0, 1), ("东门", "in", 8, 1), ("北门", "out", 8, 1)],
               key=lambda r: (r[2], r[1]))
    assert 'data-reason="BAD_SIGNATURE"' in html or 'data-reason="UNKNOWN_PASS"' in html
    assert 'id="hourly-chart"' in html

    yesterday = client.get(f"/office/?day={(_today() - timedelta(days=1)).isoformat()}")
    assert [(r["gate"], r["direction"], r["hour"]) for r in _bars(yesterday.get_data(as_text=True))] \
        == [("北门", "in", "23")]


def test_outside_and_passes_by_category_and_status(client, make, scan, app):
    ids = [make.pass_for(name=f"丙{i}") for i in range(3)]
    make.pass_for(name="丁丁", category="courier")
    for pid in ids[:2]:
        assert scan(make.token(pid), "out").json["allowed"]
    with app.app_context():
        db.session.get(Pass, ids[2]).status = "suspended"
        db.session.commit()
    login(client, make, "office")
    html = client.get("/office/").get_data(as_text=True)
    row = re.search(r'<tr data-category="resident">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells] == ["2", "1", "—", "3"]
    assert "status=suspended" in row  # the office can click through to the list
    outside = re.search(r'id="outside-now".*?<b>(\d+)</b>', html, re.S).group(1)
    assert outside == "2"


def test_a_nonsense_or_future_day_shows_today(client, make):
    login(client, make, "office")
    for day in ("yesterday", "2999-01-01"):
        html = client.get(f"/office/?day={day}").get_data(as_text=True)
        assert f'data-day="{_today().isoformat()}"' in html


@pytest.mark.parametrize("peak,step", [(0, 1), (3, 1), (42, 20), (187, 50), (1000, 250 * 2)])
def test_gridlines_are_round_numbers(peak, step):
    assert nice_step(peak) == step
