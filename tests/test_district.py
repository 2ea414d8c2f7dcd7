"""The sub-district's day (/district/): counts per community, who may see it, the CSV, the
drill-down into one community and back, and opening communities and their admins.

Every time is built from one fixed instant (NOW, 15:00 in Beijing: after the morning report's
10:00 deadline, before the afternoon's 18:00) and the clock is travelled there, so the counts
are the same at any hour the suite runs.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine

from app.district import labels, rollup
from app.extensions import db
from app.models import AuditEntry, User
from app.models.communities import Community
from helpers import csrf_token

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=TZ)
TODAY = NOW.date()
SUBDISTRICT = "东湖街道"
PASSWORD = "district-pw-123"


def _at(hours_before_now: float) -> datetime:
    return (NOW - timedelta(hours=hours_before_now)).astimezone(timezone.utc)


def _local(hour: int, minute: int = 0, day: date = TODAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(timezone.utc)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True):
        yield NOW


def _community(code: str, name: str, subdistrict: str) -> Community:
    """The default community (c1) exists already on a fresh database; others are new."""
    c = db.session.scalar(db.select(Community).where(Community.code == code))
    if c is None:
        c = Community(code=code, name=name, subdistrict=subdistrict, kind="community")
        db.session.add(c)
    c.name, c.subdistrict = name, subdistrict
    db.session.flush()
    return c


def _people_and_passes(cid: int, residents: int, extra_staff: bool = True) -> list:
    from app.models import Pass, Person
    people = [Person(name=f"居民{cid}-{i}", category="resident" if i % 2 == 0 else "tenant",
                     phone=f"1380{cid:03d}{i:04d}", community_id=cid) for i in range(residents)]
    if extra_staff:
        people.append(Person(name=f"保洁{cid}", category="sanitation", phone=f"1370{cid:03d}0000",
                             community_id=cid))
    db.session.add_all(people)
    db.session.flush()
    passes = [Pass(person_id=p.id, category=p.category, community_id=cid) for p in people]
    db.session.add_all(passes)
    db.session.flush()
    return passes


def _gate(cid: int, name: str, seen_minutes_ago: float | None):
    from app.models import Gate, GateDevice
    gate = Gate(name=name, community_id=cid)
    db.session.add(gate)
    db.session.flush()
    if seen_minutes_ago is not None:
        db.session.add(GateDevice(gate_id=gate.id, name=f"{name}笔记本", community_id=cid,
                                  token_hash=f"{cid}-{name}".encode().hex().ljust(64, "0")[:64],
                                  last_seen_at=_at(seen_minutes_ago / 60)))
    return gate


def _scans(cid: int, gate, allowed: int, denied: int, at: datetime) -> None:
    from app.models import Scan
    for i in range(allowed + denied):
        db.session.add(Scan(nonce=f"{cid}-{gate.id}-{at.timestamp()}-{i}", gate_id=gate.id,
                            direction="in", scanned_at=at, allowed=i < allowed,
                            reason="OK" if i < allowed else "REVOKED", community_id=cid))


def _health(cid: int, person_id: int, other_person_id: int) -> None:
    """Two people in quarantine (one reported this morning, one did not), one ended; a fever
    alert open today, one closed today, a symptom alert open since yesterday; registrations."""
    from app.health.models import QuarantineEpisode, Registration
    from app.health.readings import HealthAlert, TemperatureReport

    def episode(pid, ended=None):
        ep = QuarantineEpisode(person_id=pid, arrived_at=_at(72), started_at=_at(72),
                               planned_end_at=_at(-240), ended_at=ended, community_id=cid)
        db.session.add(ep)
        db.session.flush()
        return ep
    reported, silent = episode(person_id), episode(other_person_id)
    episode(other_person_id, ended=_at(100))
    db.session.add(TemperatureReport(person_id=person_id, episode_id=reported.id, value=36.5,
                                     taken_at=_local(8, 30), community_id=cid))
    db.session.add(TemperatureReport(person_id=other_person_id, episode_id=silent.id, value=36.4,
                                     taken_at=_local(20, 0, TODAY - timedelta(days=1)),
                                     community_id=cid))  # last night's: not this morning's
    for kind, opened, closed in (("fever", _at(2), None), ("fever", _at(5), _at(4)),
                                 ("symptom", _at(20), None), ("fever", _at(16), None)):
        db.session.add(HealthAlert(kind=kind, source="gate", opened_at=opened, closed_at=closed,
                                   community_id=cid))
    for status in ("pending", "approved"):
        db.session.add(Registration(name="赵小红", phone="13800001111", arrived_on=TODAY,
                                    consent_at=_at(1), status=status, community_id=cid))


def _shifts(cid: int, staffed_gate, empty_gate) -> None:
    from app.duty.models import DutySession, Guard, Shift
    for gate in (staffed_gate, empty_gate):
        db.session.add(Shift(gate_id=gate.id, name="白班", starts_at=_local(8), ends_at=_local(20),
                             community_id=cid))
        db.session.add(Shift(gate_id=gate.id, name="早班", starts_at=_local(0),
                             ends_at=_local(8), community_id=cid))  # over: not counted
    guard = Guard(name="门卫老刘", community_id=cid)
    db.session.add(guard)
    db.session.flush()
    db.session.add(DutySession(guard_id=guard.id, gate_id=staffed_gate.id, started_at=_at(6),
                               community_id=cid))


@pytest.fixture
def seeded(app, clock):
    """c1 and c2 in 东湖街道, c3 in 西山街道; c1 has something of everything."""
    with app.app_context():
        a = _community("c1", "幸福里社区", SUBDISTRICT)
        b = _community("c2", "光明社区", SUBDISTRICT)
        c = _community("c3", "远山社区", "西山街道")
        db.session.commit()  # PostgreSQL: a transaction sees the communities it began with (RLS)
        passes = _people_and_passes(a.id, 3)
        passes[0].status = "revoked"  # 3 people living here, 4 passes, 3 active
        east, north = _gate(a.id, "东门", 1), _gate(a.id, "北门", 30)
        _scans(a.id, east, 4, 2, _local(9))
        _scans(a.id, north, 1, 0, _local(0, 10))  # 00:10 today counts
        _scans(a.id, north, 5, 5, _local(23, 50, TODAY - timedelta(days=1)))  # yesterday
        _health(a.id, passes[1].person_id, passes[2].person_id)
        _shifts(a.id, east, north)
        _people_and_passes(b.id, 1, extra_staff=False)
        _scans(b.id, _gate(b.id, "南门", None), 0, 1, _local(11))
        far = _people_and_passes(c.id, 5)
        _health(c.id, far[0].person_id, far[1].person_id)
        _scans(c.id, _gate(c.id, "西门", 1), 50, 9, _local(10))
        district = User(username="district", role="district", display_name="街道办",
                        subdistrict=SUBDISTRICT)
        district.set_password(PASSWORD)
        db.session.add(district)
        db.session.commit()
        return {"c1": a.id, "c2": b.id, "c3": c.id}


def _login_district(client):
    resp = client.post("/login", data={"username": "district", "password": PASSWORD,
                                       "csrf_token": csrf_token(client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/district/")


EXPECTED_C1 = {"residents": 3, "passes": 3, "in_quarantine": 2, "open_alerts": 3,
               "late_reports": 1, "registrations": 1, "scans": 7, "denials": 2, "fevers": 2,
               "gates": 2, "gates_online": 1, "shifts": 2, "shifts_staffed": 1}
EXPECTED_C2 = {"residents": 1, "passes": 1, "in_quarantine": 0, "open_alerts": 0,
               "late_reports": 0, "registrations": 0, "scans": 1, "denials": 1, "fevers": 0,
               "gates": 1, "gates_online": 0, "shifts": 0, "shifts_staffed": 0}


@pytest.mark.both_databases
def test_the_counts_of_each_community_and_worst_first(app, seeded):
    from app.district import manage
    with app.app_context():
        day = rollup.build(manage.communities_of(SUBDISTRICT), NOW.astimezone(timezone.utc), TZ)
    assert [r.code for r in day.rows] == ["c1", "c2"]  # c3 is another sub-district's
    c1, c2 = day.rows
    assert {k: getattr(c1, k) for k in EXPECTED_C1} == EXPECTED_C1
    assert {k: getattr(c2, k) for k in EXPECTED_C2} == EXPECTED_C2
    assert (c1.gates_offline, c1.shifts_unstaffed) == (1, 1)
    assert day.day == TODAY and day.total("scans") == 8


def test_late_reports_follow_the_deadlines(app, seeded):
    """Before 10:00 nobody is late; after 18:00 the one who reported in the morning is late
    for the afternoon too."""
    from app.district import manage
    with app.app_context():
        rows = manage.communities_of(SUBDISTRICT)
        early = rollup.build(rows, _local(9, 59), TZ).rows
        late = rollup.build(rows, _local(18, 30), TZ).rows
    assert {r.code: r.late_reports for r in early} == {"c1": 0, "c2": 0}
    assert {r.code: r.late_reports for r in late} == {"c1": 2, "c2": 0}


def test_big_counts_are_kept_and_scans_since_are_added_live(app, seeded):
    """Residents and passes are recounted after DISTRICT_RECOUNT_SECONDS; scans never wait."""
    from app.district import manage
    from app.district.counted import DistrictCount
    from app.models import Gate, Person
    with app.app_context():
        rows = manage.communities_of(SUBDISTRICT)
        first = {r.code: r for r in rollup.build(rows, NOW, TZ).rows}
        gate = db.session.scalar(db.select(Gate).where(Gate.community_id == seeded["c2"]))
        _scans(seeded["c2"], gate, 2, 1, _at(0.01))
        db.session.add(Person(name="新来的", phone="13999999999", community_id=seeded["c2"]))
        db.session.commit()
        soon = {r.code: r for r in rollup.build(rows, NOW + timedelta(minutes=1), TZ).rows}
        later = {r.code: r for r in rollup.build(rows, NOW + timedelta(minutes=6), TZ).rows}
        kept = db.session.scalar(db.select(DistrictCount).where(
            DistrictCount.community_id == seeded["c2"]))
        assert (kept.scans, kept.denials, kept.residents) == (4, 2, 2)  # the recount at +6 min
    assert (first["c2"].scans, soon["c2"].scans, soon["c2"].denials) == (1, 4, 2)
    assert (first["c2"].residents, soon["c2"].residents, later["c2"].residents) == (1, 1, 2)
    assert later["c2"].scans == 4 and later["c1"].scans == 7


@pytest.mark.both_databases
def test_a_stale_count_is_redone_after_the_page_is_sent(app, client, seeded):
    """The reader of a stale page gets it at once; the recount follows the answer."""
    from app.models import Person
    _login_district(client)
    client.get("/district/")  # the day's first view counts before answering
    with app.app_context():
        db.session.add(Person(name="新来的", phone="13999999999", community_id=seeded["c2"]))
        db.session.commit()

    def residents(html):
        row = html.split('data-code="c2"')[1].split("</tr>")[0]
        return dict(re.findall(r'data-col="(\w+)">(\d+)', row))["residents"]
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        stale = client.get("/district/")
        assert residents(stale.get_data(as_text=True)) == "1"  # as counted at 15:00
        stale.close()  # the server closes the answer: the recount runs
        assert residents(client.get("/district/").get_data(as_text=True)) == "2"


@pytest.mark.both_databases
def test_the_page_shows_its_own_sub_district_only(client, seeded):
    _login_district(client)
    html = client.get("/district/").get_data(as_text=True)
    codes = re.findall(r'<tr data-code="([^"]+)"', html)
    assert codes == ["c1", "c2"]  # worst first: c1 has open alerts
    assert "远山社区" not in html
    assert 'href="/office/subdistrict-passes"' in html  # sub-district-wide passes are issued there
    assert client.get("/office/subdistrict-passes").status_code == 200
    row = html.split('data-code="c1"')[1].split("</tr>")[0]
    cells = dict(re.findall(r'data-col="(\w+)">(\d+)', row))
    assert cells["open_alerts"] == "3" and cells["scans"] == "7" and cells["late_reports"] == "1"
    assert 'class="num alarm" data-col="open_alerts"' in row
    assert "/static/vendor/chart.umd.js" in html and 'id="district-data"' in html
    english = client.get("/district/?lang=en").get_data(as_text=True)
    assert "Scans today" in english and "Open alerts" in english and "今日通行" not in english


def test_columns_sort_both_ways(client, seeded):
    _login_district(client)
    by_name = client.get("/district/?sort=name&dir=asc").get_data(as_text=True)
    assert re.findall(r'<tr data-code="([^"]+)"', by_name) == ["c2", "c1"]  # 光 before 幸
    assert 'aria-sort="ascending"' in by_name
    fewest = client.get("/district/?sort=scans&dir=asc").get_data(as_text=True)
    assert re.findall(r'<tr data-code="([^"]+)"', fewest) == ["c2", "c1"]
    odd = client.get("/district/?sort=nonsense&dir=sideways")
    assert odd.status_code == 200


@pytest.mark.parametrize("role", ["office", "guard", "health", "admin"])
def test_community_staff_get_403(client, auth, seeded, role):
    auth.login(role)
    for path in ("/district/", "/district/export.csv", "/district/c/c1/"):
        assert client.get(path).status_code == 403, path


def test_the_csv_is_the_daily_report(client, seeded):
    _login_district(client)
    resp = client.get("/district/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="district-20261120-1500.csv"' in resp.headers["Content-Disposition"]
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["日期", "代码", "社区", "居民"]
    assert [r[1] for r in rows[1:]] == ["c1", "c2"]
    c1 = dict(zip(rows[0], rows[1]))
    assert c1["日期"] == "2026-11-20" and c1["待处理提醒"] == "3" and c1["今日通行"] == "7"
    assert c1["门岗离线"] == "1" and c1["当前缺岗班次"] == "1"
    english = client.get("/district/export.csv?lang=en").get_data().decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Date,Code,Community,Residents")


@pytest.mark.both_databases
def test_drill_down_into_one_community_and_back(client, seeded):
    _login_district(client)
    resp = client.get("/district/c/c2/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/office/")
    home = client.get("/office/").get_data(as_text=True)
    assert "正在查看：光明社区" in home and "返回街道" in home
    assert client.get("/office/people").status_code == 200
    token = csrf_token(client, "/office/")
    assert client.post("/office/rules", data={"csrf_token": token, "category": "resident"}
                       ).status_code == 403  # reading, not running the community
    assert client.get("/office/quarantine").status_code == 403  # health staff's
    assert client.post("/district/communities", data={"csrf_token": token, "code": "c8",
                                                      "name": "旧标签页"}).status_code == 302
    assert "正在查看" not in client.get("/district/", follow_redirects=True).get_data(as_text=True)
    client.get("/district/c/c2/")
    back = client.get("/district/")
    assert back.status_code == 302  # forgets the community, then shows all of them
    html = client.get("/district/").get_data(as_text=True)
    assert "正在查看" not in html, html[html.index("正在查看") - 300:html.index("正在查看") + 100]
    assert re.findall(r'<tr data-code="([^"]+)"', html) == ["c1", "c2", "c8"]
    assert client.get("/office/").headers["Location"].endswith("/district/")


def test_a_drilled_in_district_user_reads_the_community_as_its_office_does(client, seeded):
    """Full names (the office's view, not the guard's masked one), and only that community's."""
    _login_district(client)
    client.get("/district/c/c2/")
    html = client.get("/office/people").get_data(as_text=True)
    assert f"居民{seeded['c2']}-0" in html
    assert f"居民{seeded['c1']}-0" not in html and f"居民{seeded['c3']}-0" not in html


def test_another_sub_districts_community_cannot_be_entered(client, seeded):
    _login_district(client)
    client.get("/district/c/c3/")
    html = client.get("/office/", follow_redirects=True).get_data(as_text=True)
    assert "正在查看" not in html and "远山社区" not in html


def test_a_community_and_its_admin_are_created_and_audited(app, client, seeded):
    _login_district(client)
    token = csrf_token(client, "/district/")
    no_token = client.post("/district/communities", data={"code": "c9", "name": "新村"})
    assert no_token.status_code == 400
    resp = client.post("/district/communities",
                       data={"csrf_token": token, "code": "c9", "name": "新村社区"})
    assert resp.status_code == 302
    resp = client.post("/district/admins", data={
        "csrf_token": token, "community": "c9", "username": "admin-c9",
        "password": "long-enough-1", "display_name": "新村管理员"})
    assert resp.status_code == 302
    refused = client.post("/district/admins", data={
        "csrf_token": token, "community": "c3", "username": "admin-x",
        "password": "long-enough-1"})
    assert refused.status_code in (302, 404)
    with app.app_context():
        c9 = db.session.scalar(db.select(Community).where(Community.code == "c9"))
        assert c9.subdistrict == SUBDISTRICT and c9.kind == "community"
        admin = db.session.scalar(db.select(User).where(User.username == "admin-c9"))
        assert admin.role == "admin" and admin.community_id == c9.id
        assert db.session.scalar(db.select(User).where(User.username == "admin-x")) is None
        actions = {(e.action, e.username) for e in db.session.scalars(db.select(AuditEntry))}
        assert {("community.create", "district"), ("community.admin", "district")} <= actions
    html = client.get("/district/").get_data(as_text=True)
    assert 'data-code="c9"' in html


def test_a_bad_code_is_refused_with_a_message(client, seeded):
    _login_district(client)
    token = csrf_token(client, "/district/")
    resp = client.post("/district/communities", data={"csrf_token": token, "code": "sd-1",
                                                      "name": "冒名"}, follow_redirects=True)
    assert "社区代码只能用" in resp.get_data(as_text=True)


def test_sorting_rules_without_a_database():
    rows = [rollup.CommunityDay(1, "a", "甲", open_alerts=0, gates=2, gates_online=0),
            rollup.CommunityDay(2, "b", "乙", open_alerts=1),
            rollup.CommunityDay(3, "c", "丙", scans=9)]
    assert [r.code for r in labels.sort_rows(rows, "worst", True)] == ["b", "a", "c"]
    assert [r.code for r in labels.sort_rows(rows, "scans", True)][0] == "c"
    assert labels.parse_sort("scans", None) == ("scans", True)
    assert labels.parse_sort("name", None) == ("name", False)
    assert labels.parse_sort("drop table", "up") == ("worst", False)
