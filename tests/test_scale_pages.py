"""Pages that must stay fast on a large community (issue 18, "Scale"): what they show is
unchanged, and the shape of their queries is what keeps them fast (bounded chart, capped
counts, holders filtered before scans, a snapshot ETag that needs no body)."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from app.common.paging import CappedPage
from app.extensions import db
from app.models import Pass, Person, Scan
from app.services import buildings, dashboard, snapshot
from app.services.scanlog import scan_query
from helpers import login


def _bars(html):
    return [dict(zip(("gate", "direction", "hour", "count"), m)) for m in re.findall(
        r'<rect[^>]*data-gate="([^"]*)" data-direction="(\w+)" data-hour="(\d+)" '
        r'data-count="(\d+)"', html)]


@pytest.mark.both_databases
def test_a_chart_of_many_gates_draws_the_busiest_and_adds_up_the_rest(client, make, scan):
    gates = [f"门{i}" for i in range(dashboard.MAX_GATES + 3)]
    tokens = {g: make.device(g) for g in gates}
    passes = [make.pass_for(name=f"行{i}") for i in range(len(gates))]
    busy = gates[:dashboard.MAX_GATES - 1]
    for i, g in enumerate(gates):
        for _ in range(3 if g in busy else 1):  # the busy ones 3 scans, the quiet ones 1
            direction = "out" if _ % 2 == 0 else "in"
            assert scan(make.token(passes[i]), direction, device=tokens[g]).status_code == 200
    login(client, make, "office")
    html = client.get("/office/").get_data(as_text=True)
    bars = _bars(html)
    drawn = {b["gate"] for b in bars}
    assert drawn == set(busy) | {"其他门岗"}
    other = sum(int(b["count"]) for b in bars if b["gate"] == "其他门岗")
    assert other == len(gates) - len(busy)  # every quiet gate's scan, added up
    assert sum(int(b["count"]) for b in bars) == 3 * len(busy) + other
    assert len(re.findall(r'<tr><td class="nowrap">', html)) == 2 * dashboard.MAX_GATES


def test_on_duty_is_read_in_one_query_whatever_the_number_of_gates(app, make):
    for i in range(6):
        make.device(f"岗{i}")
    statements = []
    with app.app_context():
        from sqlalchemy import event

        def count(*_args):
            statements.append(1)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            tz = dashboard.ZoneInfo("Asia/Shanghai")
            _logbook, _overdue, on_duty = dashboard.gate_duty(datetime.now(tz).date(), tz)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert [g for g, _ in on_duty][:6] == [f"岗{i}" for i in range(6)]
    assert len(statements) <= 6  # logbook, places, gates, guards: not one per gate


@pytest.mark.both_databases
def test_scan_log_filters_holders_first_and_reads_scans_alone(app, client, make, scan):
    a = make.pass_for(name="欧阳娜娜", building="8号楼")
    b = make.pass_for(name="司马光", building="9号楼")
    car = make.vehicle_pass("沪B77777")
    for pid in (a, b, car):
        assert scan(make.token(pid), "out").status_code == 200
    with app.app_context():
        stmt, _ = scan_query({"q": "欧阳"})
        assert " JOIN " not in str(stmt).upper()  # no join of every scan to its holder
        assert "people" not in str(stmt)  # a few passes found: their ids, no subquery
        assert [s.pass_id for s in db.session.scalars(stmt)] == [a]
        assert [s.pass_id for s in db.session.scalars(scan_query({"q": "b777"})[0])] == [car]
        by_name = scan_query({"building_name": "9"})[0]  # typed: 9 is 9号楼
        assert [s.pass_id for s in db.session.scalars(by_name)] == [b]
        assert db.session.scalars(scan_query({"building_name": "99栋"})[0]).all() == []
    login(client, make, "office")
    html = client.get("/office/scans?q=司马").get_data(as_text=True)
    assert "司马光" in html and "欧阳娜娜" not in html


def test_a_capped_page_counts_no_further_than_its_cap(app, make, scan):
    pid = make.pass_for(name="数九")
    for _ in range(7):
        assert scan(make.token(pid), "in").status_code == 200
    with app.app_context():
        stmt = db.select(Scan).order_by(Scan.id)
        first = CappedPage(stmt, 1, 2, cap=5)
        assert (first.total, first.capped, len(first.items), first.has_next) == (5, True, 2, True)
        third = CappedPage(stmt, 3, 2, cap=5)
        assert third.has_next and third.pages == 4  # one more page while pages are full
        last = CappedPage(stmt, 4, 2, cap=5)
        assert len(last.items) == 1 and not last.has_next
        exact = CappedPage(stmt, 1, 2, cap=100)
        assert (exact.total, exact.capped, exact.pages) == (7, False, 4)


def test_scan_log_pager_says_when_the_count_stopped(client, make, scan, monkeypatch):
    import app.common.paging as paging
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    pid = make.pass_for(name="计数")
    for _ in range(5):
        assert scan(make.token(pid), "in").status_code == 200
    login(client, make, "office")
    monkeypatch.setattr("app.office.views.PAGE", 2)
    html = client.get("/office/scans").get_data(as_text=True)
    assert re.search(r"1 / 2 （\S+ 3\+）", html)


def test_people_page_offers_a_text_box_instead_of_thousands_of_buildings(client, make,
                                                                           monkeypatch):
    make.person(name="楼一", building="1号楼")
    make.person(name="楼二", building="2号楼")
    login(client, make, "office")
    html = client.get("/office/people").get_data(as_text=True)
    assert '<select name="building"' in html
    monkeypatch.setattr(buildings, "SELECT_MAX", 1)
    html = client.get("/office/people").get_data(as_text=True)
    assert '<select name="building"' not in html and 'name="building_name"' in html
    html = client.get("/office/people?building_name=2").get_data(as_text=True)
    assert "楼二" in html and "楼一" not in html
    html = client.get("/office/people?building_name=7号楼").get_data(as_text=True)
    assert "楼一" not in html and "楼二" not in html


# -- the gate snapshot's ETag ------------------------------------------------------------

def _etag(client, token):
    r = client.get("/api/v1/gate/snapshot", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    return r.headers["ETag"]


@pytest.mark.both_databases
def test_snapshot_etag_follows_what_the_snapshot_says_and_ignores_scans(app, client, make,
                                                                          scan, device_token):
    pid = make.pass_for(name="门牌")
    first = _etag(client, device_token)
    assert scan(make.token(pid), "out").get_json()["allowed"]
    assert _etag(client, device_token) == first  # presence is not in the snapshot
    with app.app_context():
        db.session.get(Pass, pid).status = "suspended"
        db.session.commit()
    suspended = _etag(client, device_token)
    assert suspended != first
    with app.app_context():
        db.session.get(Person, db.session.get(Pass, pid).person_id).quarantine_until = \
            datetime.now(timezone.utc) + timedelta(days=3)
        db.session.commit()
    assert _etag(client, device_token) != suspended  # the no-exit flag changed
    make.pass_for(name="新证")
    assert _etag(client, device_token) not in (first, suspended)


def test_a_304_is_answered_without_building_the_body(client, make, device_token, monkeypatch):
    make.pass_for(name="不变")
    etag = _etag(client, device_token)

    def refuse(*_args, **_kw):
        raise AssertionError("the body was built for a 304")
    monkeypatch.setattr("app.api.snapshot_body", refuse)
    r = client.get("/api/v1/gate/snapshot", headers={"Authorization": f"Bearer {device_token}",
                                                     "If-None-Match": etag})
    assert r.status_code == 304 and r.headers["ETag"] == etag


def test_a_quarantine_that_ends_by_the_clock_changes_the_etag(app, make, device_token):
    from app.models import GateDevice
    pid = make.pass_for(name="到期")
    now = datetime.now(timezone.utc)
    with app.app_context():
        person = db.session.get(Person, db.session.get(Pass, pid).person_id)
        person.quarantine_until = now + timedelta(hours=1)
        db.session.commit()
        device = db.session.scalars(db.select(GateDevice)).first()
        during = snapshot.snapshot_etag(device, now)
        after = snapshot.snapshot_etag(device, now + timedelta(hours=2))
        assert during != after
        row = snapshot.gate_snapshot(device, now + timedelta(hours=2))["passes"][str(pid)]
        assert row[5] is None


@pytest.mark.both_databases
def test_the_snapshot_body_is_what_gate_snapshot_says(app, make, device_token, client):
    """PostgreSQL encodes the passes itself (``snapshot_body``): the same rows, the same
    ISO times (with and without microseconds), the same no-exit mark, as Python's."""
    import json
    from app.models import GateDevice
    plain = make.pass_for(name="整秒")
    fine = make.pass_for(name="微秒")
    vehicle = make.vehicle_pass("京C00001")
    now = datetime.now(timezone.utc)
    with app.app_context():
        db.session.get(Pass, plain).valid_from = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        db.session.get(Pass, fine).valid_until = datetime(2027, 1, 2, 3, 4, 5, 120,
                                                          tzinfo=timezone.utc)
        db.session.get(Person, db.session.get(Pass, fine).person_id).quarantine_until = \
            now + timedelta(days=2)
        db.session.commit()
        device = db.session.scalars(db.select(GateDevice)).first()
        body = json.loads(snapshot.snapshot_body(device, now))
        assert body == json.loads(json.dumps(snapshot.gate_snapshot(device, now), default=str))
        assert body["passes"][str(plain)][3] == "2026-01-02T03:04:05+00:00"
        assert body["passes"][str(fine)][4] == "2027-01-02T03:04:05.000120+00:00"
        assert body["passes"][str(fine)][5] is not None and str(vehicle) in body["passes"]
    r = client.get("/api/v1/gate/snapshot", headers={"Authorization": f"Bearer {device_token}"})
    assert r.get_json() == body


@pytest.mark.both_databases
def test_a_streamed_export_reads_only_the_readers_community(app, client, make, scan):
    """The CSV is made after the view returned (and the request's scope was torn down):
    ``common.streaming.stream_in_scope`` keeps it to the reader's community."""
    from app.models import Gate
    from app.models.communities import Community
    from app.tenancy import use_scope
    mine = make.pass_for(name="本社区人")
    assert scan(make.token(mine), "out").status_code == 200
    login(client, make, "office")  # an office user of c1, the only community so far
    with app.app_context():
        other = Community(code="c2", name="二社区")
        db.session.add(other)
        db.session.commit()
        with use_scope({other.id}, other.id):
            gate = Gate(name="西门")
            db.session.add(gate)
            db.session.flush()
            db.session.add(Scan(nonce="n-other", gate_id=gate.id, direction="in",
                                scanned_at=datetime.now(timezone.utc), allowed=False,
                                reason="BAD_FORMAT", raw_text="别社区的码", response={}))
            db.session.commit()
    page = client.get("/office/scans").get_data(as_text=True)
    assert "本社区人" in page and "别社区的码" not in page
    body = client.get("/office/scans/export.csv").get_data(as_text=True)
    assert "本社区人" in body and "别社区的码" not in body


def test_a_search_that_finds_many_passes_filters_by_subquery(app, make, scan, monkeypatch):
    import app.services.scanlog as scanlog
    a, b = make.pass_for(name="多多一"), make.pass_for(name="多多二")
    make.pass_for(name="别人")
    for pid in (a, b):
        assert scan(make.token(pid), "in").status_code == 200
    monkeypatch.setattr(scanlog, "ID_LIST_MAX", 1)
    with app.app_context():
        stmt, _ = scan_query({"q": "多多"})
        assert "people" in str(stmt)
        assert sorted(s.pass_id for s in db.session.scalars(stmt)) == [a, b]
