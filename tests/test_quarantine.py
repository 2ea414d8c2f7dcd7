"""Home quarantine: the domain rules, episodes at the gate, the health staff's pages.

Days and report slots are judged with frozen time (freezegun) in the
community's zone (Asia/Shanghai); every page is reached through the Flask
test client with a real SQLite file behind it.
"""
import sqlite3
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from app.extensions import db
from app.models import AuditEntry, Pass, Person
from app.health.models import Errand, HomeCheck, QuarantineEpisode
from app.health.readings import HealthAlert, TemperatureReport
from gatepass.quarantine import (cohorts, day_number, day_of, in_quarantine,
                                 may_end, parse_overdue, people_per_day, quarantine_end, today_reports)
from gatepass.wire import NO_EXIT_MARK, unpack_pass_row
from helpers import csrf_token, login

TZ = ZoneInfo("Asia/Shanghai")
BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def local(*args):
    return datetime(*args, tzinfo=TZ)


# -- the domain --------------------------------------------------------------------------

def test_fourteen_days_and_day_numbers():
    start = local(2026, 11, 1, 9, 0)
    until = quarantine_end(start)
    assert until == local(2026, 11, 15, 9, 0)
    assert quarantine_end(start, 7) == local(2026, 11, 8, 9, 0)
    assert day_number(until, start) == 1
    assert day_number(until, local(2026, 11, 14, 20, 0)) == 14
    assert in_quarantine(until, local(2026, 11, 15, 8, 59))
    assert not in_quarantine(until, local(2026, 11, 15, 9, 0))
    assert not in_quarantine(None, start)


def test_day_n_is_by_the_calendar_and_runs_past_the_planned_end():
    start = local(2026, 11, 1, 23, 30)  # arrived late at night: still day 1
    assert day_of(start, local(2026, 11, 1, 23, 59), TZ) == 1
    assert day_of(start, local(2026, 11, 2, 0, 1), TZ) == 2
    assert day_of(start, local(2026, 11, 17, 9, 0), TZ) == 17  # nobody ended it: "day 17 of 14"


def test_ending_rules():
    planned = local(2026, 11, 15, 9, 0)
    before, after = local(2026, 11, 14, 9, 0), local(2026, 11, 15, 9, 0)
    assert may_end(planned, before, 0, "completed", "") == "NOT_YET_DUE"
    assert may_end(planned, after, 1, "completed", "") == "OPEN_ALERT"
    assert may_end(planned, after, 0, "completed", "") is None
    assert may_end(planned, before, 0, "ended_early", " ") == "REASON_REQUIRED"
    assert may_end(planned, before, 0, "ended_early", "核酸阴性，经区疾控同意") is None
    assert may_end(planned, before, 1, "hospital", "") is None  # taken out of our hands
    assert may_end(planned, before, 0, "nonsense", "") == "BAD_OUTCOME"


def test_two_reports_a_day_and_overdue_slots():
    now = local(2026, 11, 23, 19, 0)
    reports = [(local(2026, 11, 23, 8, 0), 36.4), (local(2026, 11, 22, 15, 0), 38.0)]
    day = today_reports(reports, now, TZ)
    assert (day.am, day.pm, day.overdue, day.fever) == (36.4, None, ("pm",), False)
    day = today_reports(reports + [(local(2026, 11, 23, 14, 0), 37.5)], now, TZ)
    assert (day.pm, day.overdue, day.fever) == (37.5, (), True)
    assert today_reports([], local(2026, 11, 23, 9, 0), TZ).overdue == ()
    assert today_reports([], local(2026, 11, 23, 11, 0), TZ).overdue == ("am",)
    started = local(2026, 11, 23, 11, 0)  # the morning report was never owed today
    assert today_reports([], local(2026, 11, 23, 19, 0), TZ, started).overdue == ("pm",)
    assert today_reports([], local(2026, 11, 23, 19, 0), TZ, local(2026, 11, 22, 9)).overdue == ("am", "pm")
    # configurable deadlines and threshold
    late = parse_overdue("11:30", "20:00")
    assert today_reports([], local(2026, 11, 23, 11, 0), TZ, overdue_after=late).overdue == ()
    assert today_reports([(local(2026, 11, 23, 8), 37.1)], now, TZ, threshold=37.0).fever
    with pytest.raises(ValueError):
        parse_overdue("13:00", "18:00")


def test_cohorts_by_arrival_day_and_people_per_day():
    arrivals = [local(2026, 11, 1, 23, 50), local(2026, 11, 2, 0, 10), local(2026, 11, 1, 8, 0)]
    groups = cohorts(arrivals, lambda a: a, TZ)
    assert [(d, len(items)) for d, items in groups] == [(date(2026, 11, 1), 2), (date(2026, 11, 2), 1)]
    spans = [(local(2026, 11, 1, 9), local(2026, 11, 3, 9)), (local(2026, 11, 2, 9), None)]
    assert people_per_day(spans, date(2026, 11, 1), date(2026, 11, 4), TZ) == [
        (date(2026, 11, 1), 1), (date(2026, 11, 2), 2), (date(2026, 11, 3), 2), (date(2026, 11, 4), 1)]


# -- helpers ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def long_sessions(app):
    """Tests jump days ahead with freezegun; a 12-hour shift's session would end on the way."""
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=120)

def start(client, person_id, token, **form):
    data = {"csrf_token": token, "days": 14, **form}
    return client.post(f"/office/quarantine/{person_id}/start", data=data)


def holder_and_health_login(app, client, make, name: str) -> tuple[int, int, str]:
    """A pass holder (pass id, person id) and a health worker logged in: (pid, person_id, csrf)."""
    pid = make.pass_for(name=name)
    with app.app_context():
        person_id = db.session.get(Pass, pid).person_id
    login(client, make, "health")
    return pid, person_id, csrf_token(client, "/office/quarantine")


def episode_of(app, person_id) -> int:
    with app.app_context():
        return db.session.scalar(db.select(QuarantineEpisode.id).where(
            QuarantineEpisode.person_id == person_id).order_by(QuarantineEpisode.id.desc()))


def snapshot_no_exit(client, device_token, pass_id) -> bool:
    """The may-not-go-out flag the gate snapshot carries for a pass (never a date: PIPL)."""
    body = client.get("/api/v1/gate/snapshot", headers={"Authorization": f"Bearer {device_token}"}).get_json()
    row = body["passes"][str(pass_id)]
    assert row[5] in (None, NO_EXIT_MARK)  # null or the fixed marker: no real date leaves
    return unpack_pass_row(row)["no_exit"]


# -- the gate ----------------------------------------------------------------------------------

@BOTH
def test_gate_denies_exits_during_an_open_episode_and_ending_frees_the_pass_at_once(
        app, client, make, scan, device_token):
    pid, person_id, token = holder_and_health_login(app, client, make, "返乡人")
    arrived = (datetime.now(TZ) - timedelta(days=15)).date().isoformat()
    assert start(client, person_id, token, arrived_on=arrived, arrived_time="08:00").status_code == 302
    # past the planned end but not ended: still denied going out, everywhere
    body = scan(make.token(pid), "out").get_json()
    assert (body["allowed"], body["reason"], body["message"]) == (False, "IN_QUARANTINE", "居家隔离期内，不得外出")
    assert scan(make.token(pid), "in").get_json()["reason"] == "OK"  # coming home is fine
    assert snapshot_no_exit(client, device_token, pid) is True
    ep = episode_of(app, person_id)
    r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"},
                    follow_redirects=True)
    assert "已解除居家隔离：返乡人" in r.get_data(as_text=True)
    assert scan(make.token(pid), "out").get_json()["reason"] == "OK"
    assert snapshot_no_exit(client, device_token, pid) is False


def test_a_community_may_suspend_passes_for_the_stay(app, client, make, scan):
    app.config["QUARANTINE_SUSPENDS_PASS"] = True
    pid, person_id, token = holder_and_health_login(app, client, make, "暂停证")
    start(client, person_id, token)
    assert scan(make.token(pid), "in").get_json()["reason"] == "SUSPENDED"
    ep = episode_of(app, person_id)
    client.post(f"/office/quarantine/episodes/{ep}/end",
                data={"csrf_token": token, "outcome": "ended_early", "reason": "区疾控同意提前解除"})
    assert scan(make.token(pid), "in").get_json()["reason"] == "OK"


# -- health staff pages -------------------------------------------------------------------------------

@BOTH
def test_start_report_alert_close_and_end(app, client, make):
    person = make.person(name="钟南")
    login(client, make, "health")
    token = csrf_token(client, f"/office/people/{person}")
    r = start(client, person, token, origin="海南省三亚市", travel_mode="flight", travel_number="HU7181")
    assert r.status_code == 302
    ep = episode_of(app, person)
    page = client.get("/office/quarantine").get_data(as_text=True)
    assert "钟南" in page and "1 / 14" in page and "海南省三亚市" in page
    client.post(f"/office/quarantine/episodes/{ep}/report", data={"csrf_token": token, "value": "38.2"})
    page = client.get("/office/quarantine").get_data(as_text=True)
    assert "38.2℃" in page and "发热" in page and "待处理提醒" in page
    assert '<a href="/office/alerts" id="nav-alerts">健康提醒 <span class="count">1</span>' in page
    r = client.post(f"/office/quarantine/episodes/{ep}/report", data={"csrf_token": token, "value": "99"},
                    follow_redirects=True)
    assert "体温应在 34-43 °C 之间" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(TemperatureReport.id))) == 1
        alert = db.session.scalar(db.select(HealthAlert))
        assert (alert.kind, alert.source, alert.temperature, alert.episode_id) == ("fever", "staff_report", 38.2, ep)
    # an early end needs a reason; an open alert blocks nothing but "completed"
    r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"},
                    follow_redirects=True)
    assert "尚未期满" in r.get_data(as_text=True)
    r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "ended_early"},
                    follow_redirects=True)
    assert "提前解除须写明原因" in r.get_data(as_text=True)
    page = client.get("/office/alerts").get_data(as_text=True)
    assert "钟南" in page and "38.2℃" in page
    r = client.post(f"/office/alerts/{alert.id}/close", data={"csrf_token": token, "action": "doctor_called",
                                                            "note": "已电话问诊"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "提醒已处理：已通知社区医生" in page and "没有待处理的提醒" in page and 'class="count"' not in page
    r = client.post(f"/office/quarantine/episodes/{ep}/end",
                    data={"csrf_token": token, "outcome": "ended_early", "reason": "转往外省"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已解除居家隔离：钟南" in page and "提前解除" in page and "转往外省" in page
    assert "目前无人居家隔离" in client.get("/office/quarantine").get_data(as_text=True)


def test_completed_only_after_the_planned_end_and_with_no_open_alert(app, client, make):
    person = make.person(name="期满人")
    t0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing
    with freeze_time(t0):
        login(client, make, "health")
        token = csrf_token(client, "/office/quarantine")
        start(client, person, token, days=7)
        ep = episode_of(app, person)
        client.post(f"/office/quarantine/episodes/{ep}/report", data={"csrf_token": token, "value": "37.6"})
    with freeze_time(t0 + timedelta(days=7) - timedelta(minutes=1)):
        r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"},
                        follow_redirects=True)
        assert "尚未期满" in r.get_data(as_text=True)
    with freeze_time(t0 + timedelta(days=7)):
        r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"},
                        follow_redirects=True)
        assert "还有未处理的健康提醒" in r.get_data(as_text=True)
        with app.app_context():
            alert_id = db.session.scalar(db.select(HealthAlert.id))
        client.post(f"/office/alerts/{alert_id}/close", data={"csrf_token": token, "action": "remeasured"})
        client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"})
    with app.app_context():
        e = db.session.get(QuarantineEpisode, ep)
        assert (e.outcome, e.days, e.ended_at) == ("completed", 7, t0 + timedelta(days=7))
        assert e.ender.username == "health-user" and e.starter.username == "health-user"


def test_cohorts_and_day_n_of_m_on_the_list(app, client, make):
    with freeze_time(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)):  # 10:00 Beijing
        login(client, make, "health")
        token = csrf_token(client, "/office/quarantine")
        for name, arrived in (("甲一", "2026-11-10"), ("乙二", "2026-11-10"), ("丙三", "2026-11-18")):
            start(client, make.person(name=name), token, arrived_on=arrived, arrived_time="09:00")
        page = client.get("/office/quarantine").get_data(as_text=True)
    page = page[page.index("<h1>"):]  # after the flashes
    assert page.index("11-10 到达") < page.index("甲一") < page.index("11-18 到达") < page.index("丙三")
    assert "2 人" in page and "11 / 14" in page and "3 / 14" in page


def test_overdue_list_after_the_configured_hours(app, client, make):
    app.config["REPORT_OVERDUE_AM"] = "09:00"
    day = datetime(2026, 11, 20, 0, 0, tzinfo=TZ)
    with freeze_time(day - timedelta(days=2)):
        login(client, make, "health")
        token = csrf_token(client, "/office/quarantine")
        a, b = make.person(name="准点报"), make.person(name="忘了报")
        start(client, a, token)
        start(client, b, token)
    with freeze_time(day + timedelta(hours=8)):
        client.post(f"/office/quarantine/episodes/{episode_of(app, a)}/report",
                    data={"csrf_token": token, "value": "36.5"})
        assert "都已按时上报" in client.get("/office/quarantine/overdue").get_data(as_text=True)
    with freeze_time(day + timedelta(hours=9, minutes=1)):
        page = client.get("/office/quarantine/overdue").get_data(as_text=True)
        assert "忘了报" in page and "准点报" not in page and "上午 09:00" in page
        assert "hp-overdue\">1<" in client.get("/office/").get_data(as_text=True)


@BOTH
def test_home_checks_errands_and_homes_not_checked(app, client, make):
    t0 = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    with freeze_time(t0):
        login(client, make, "health")
        token = csrf_token(client, "/office/quarantine")
        a, b = make.person(name="查过了"), make.person(name="没查过")
        start(client, a, token)
        start(client, b, token)
        client.post(f"/office/quarantine/episodes/{episode_of(app, a)}/checks",
                    data={"csrf_token": token, "method": "door", "result": "at_home", "note": "敲门两次"})
        client.post(f"/office/quarantine/episodes/{episode_of(app, a)}/errands",
                    data={"csrf_token": token, "kind": "parcel", "note": "顺丰 2 件"})
        r = client.post(f"/office/quarantine/episodes/{episode_of(app, a)}/checks",
                        data={"csrf_token": token, "method": "drone", "result": "at_home"}, follow_redirects=True)
        assert "请选择检查方式" in r.get_data(as_text=True)
    with freeze_time(t0 + timedelta(days=3, hours=1)):
        page = client.get("/office/homecare?days=3").get_data(as_text=True)
        unchecked = page[page.index('id="unchecked"'):page.index('id="errands"')]
        assert "没查过" in unchecked and "从未检查" in unchecked and "查过了" in unchecked
        client.post(f"/office/quarantine/episodes/{episode_of(app, a)}/checks",
                    data={"csrf_token": token, "method": "video", "result": "not_home"})
        page = client.get("/office/homecare?days=3").get_data(as_text=True)
        unchecked = page[page.index('id="unchecked"'):page.index('id="errands"')]
        assert "没查过" in unchecked and "查过了" not in unchecked and "代取快递" in page
        page = client.get(f"/office/quarantine/episodes/{episode_of(app, a)}").get_data(as_text=True)
        assert "敲门检查" in page and "视频抽查" in page and "不在家" in page and "顺丰 2 件" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(HomeCheck.id))) == 2
        assert db.session.scalar(db.select(Errand.household_id)) is not None


def test_episode_page_has_a_chart_and_the_persons_history(app, client, make):
    person = make.person(name="历史人")
    login(client, make, "health")
    token = csrf_token(client, "/office/quarantine")
    start(client, person, token)
    first = episode_of(app, person)
    client.post(f"/office/quarantine/episodes/{first}/report", data={"csrf_token": token, "value": "36.6"})
    client.post(f"/office/quarantine/episodes/{first}/end",
                data={"csrf_token": token, "outcome": "centralised", "reason": "密接，转集中隔离"})
    start(client, person, token)
    second = episode_of(app, person)
    assert second != first
    page = client.get(f"/office/quarantine/episodes/{first}").get_data(as_text=True)
    assert '<canvas id="temperature-chart"' in page and '"values": [36.6]' in page
    assert "/static/vendor/chart.umd.js" in page and "转集中隔离" in page
    assert f"/office/quarantine/episodes/{second}" in page  # the history links the other stay
    page = client.get(f"/office/people/{person}").get_data(as_text=True)
    assert f"/office/quarantine/episodes/{first}" in page and "进行中" in page
    r = start(client, person, token)
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(QuarantineEpisode.id))) == 2  # not a third


def test_health_pages_check_roles_and_csrf(app, client, make):
    person = make.person()
    login(client, make, "guard")
    for url in ("/office/quarantine", "/office/alerts", "/office/registrations", "/office/homecare",
                "/office/quarantine/overdue", "/office/certificates", "/office/audit/health"):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/office/")
    assert start(client, person, token).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, make, "office", "office2")
    assert client.get("/office/quarantine").status_code == 403  # health data: health staff only
    assert "居家隔离" not in client.get(f"/office/people/{person}").get_data(as_text=True).split("<main>")[0]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    login(client, make, "health", "health2")
    assert client.post(f"/office/quarantine/{person}/start", data={"days": 14}).status_code == 400
    with app.app_context():
        assert db.session.get(Person, person).quarantine_until is None


@BOTH
def test_every_view_of_health_data_is_logged_and_admins_export_it(app, client, make):
    person = make.person(name="被查看")
    login(client, make, "health", "dr-li")
    token = csrf_token(client, "/office/quarantine")
    start(client, person, token)
    ep = episode_of(app, person)
    client.get("/office/quarantine")
    client.get(f"/office/quarantine/episodes/{ep}")
    client.get(f"/office/people/{person}")
    client.get("/office/alerts")
    with app.app_context():
        views = db.session.execute(db.select(AuditEntry.action, AuditEntry.username, AuditEntry.person_id)
                                   .where(AuditEntry.kind == "view")).all()
    actions = [v[0] for v in views]
    assert {"health.quarantine_list", "health.episode", "health.person", "health.alerts"} <= set(actions)
    assert ("health.episode", "dr-li", person) in views
    assert client.get("/office/audit/health").status_code == 403  # admins read it
    client.post("/logout", data={"csrf_token": token})
    login(client, make, "admin")
    page = client.get("/office/audit/health?user=dr-li").get_data(as_text=True)
    assert "health.episode" in page and "被*看" in page and "健康信息查看记录" in page
    csv = client.get("/office/audit/health.csv?user=dr-li")
    text = csv.data.decode("utf-8-sig")
    assert csv.mimetype == "text/csv" and text.startswith("时间,用户,查看内容")
    assert "dr-li,health.episode,被*看" in text and "被查看" not in text


@BOTH
def test_purge_deletes_only_episodes_ended_long_enough_ago(app, client, make, runner):
    t0 = datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc)
    with freeze_time(t0):
        login(client, make, "health")
        token = csrf_token(client, "/office/quarantine")
        old, recent = make.person(name="早结束"), make.person(name="刚结束")
        for p in (old, recent):
            start(client, p, token)
            ep = episode_of(app, p)
            client.post(f"/office/quarantine/episodes/{ep}/report", data={"csrf_token": token, "value": "36.5"})
            client.post(f"/office/quarantine/episodes/{ep}/report",
                        data={"csrf_token": token, "value": "36.9", "symptoms": "咳嗽"})
            client.post(f"/office/quarantine/episodes/{ep}/checks",
                        data={"csrf_token": token, "method": "door", "result": "at_home"})
            client.post(f"/office/quarantine/episodes/{ep}/errands", data={"csrf_token": token, "kind": "shopping"})
        with app.app_context():
            for a in db.session.scalars(db.select(HealthAlert)):
                a.closed_at, a.action = t0, "remeasured"
            db.session.commit()
        client.post(f"/office/quarantine/episodes/{episode_of(app, old)}/end",
                    data={"csrf_token": token, "outcome": "hospital"})
    with freeze_time(t0 + timedelta(days=25)):
        client.post(f"/office/quarantine/episodes/{episode_of(app, recent)}/end",
                    data={"csrf_token": token, "outcome": "left"})
    with freeze_time(t0 + timedelta(days=31)):
        r = runner.invoke(args=["health", "purge", "--older-than", "30", "--dry-run"])
        assert r.exit_code == 0, r.output
        assert "temperature_reports: 1\nsymptom_reports: 1\nregistrations: 0\nhome_checks: 1\nerrands: 1\nalerts: 1" in r.output
        assert "nothing deleted" in r.output
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(TemperatureReport.id))) == 4
        r = runner.invoke(args=["health", "purge"])  # the default is 30 days
        assert r.exit_code == 0 and "deleted 5 record(s)" in r.output, r.output
    with app.app_context():
        left = db.session.scalars(db.select(TemperatureReport.episode_id)).all()
        assert set(left) == {episode_of(app, recent)} and len(left) == 2
        assert db.session.scalar(db.select(db.func.count(QuarantineEpisode.id))) == 2  # the stays stay


@pytest.mark.other_process  # `flask db upgrade` runs in a subprocess, on the real clock
def test_the_migration_moves_quarantine_until_into_episodes(tmp_path):
    """Upgrade a database of the previous head that has people in (and past) quarantine."""
    from helpers import db_upgrade
    db_path = db_upgrade(tmp_path, "a1e7c0de0003")
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    con = sqlite3.connect(db_path)
    con.executemany("INSERT INTO people (id, name, category, id_card_masked, employer, is_returnee, "
                    "quarantine_until, created_at) VALUES (?, ?, 'resident', '', '', 1, ?, ?)",
                    [(1, "还在隔离", str(now + timedelta(days=3)), str(now)),
                     (2, "已经期满", str(now - timedelta(days=2)), str(now)), (3, "从未隔离", None, str(now))])
    con.execute("UPDATE people SET quarantine_until = NULL, is_returnee = 0 WHERE id = 3")
    con.execute("INSERT INTO temperature_reports (person_id, taken_at, value) VALUES (1, ?, 36.6)", (str(now),))
    con.commit()
    db_upgrade(tmp_path)
    rows = con.execute("SELECT person_id, started_at, planned_end_at, ended_at, outcome, days "
                       "FROM quarantine_episodes ORDER BY person_id").fetchall()
    assert [(r[0], r[4], r[5]) for r in rows] == [(1, None, 14), (2, "completed", 14)]
    start1, end1 = (datetime.fromisoformat(v) for v in rows[0][1:3])
    assert end1 - start1 == timedelta(days=14) and rows[0][3] is None
    assert con.execute("SELECT quarantine_until FROM people WHERE id = 1").fetchone()[0].startswith("9999-01-01")
    assert con.execute("SELECT episode_id FROM temperature_reports").fetchone()[0] is not None
    con.close()


def test_the_alert_list_shows_gate_alerts_even_without_a_person(app, client, make):
    """Gate thermometers (issue 11) open alerts of source GATE into the same list; the person
    may be unknown (a vehicle's pass, an unreadable code)."""
    from app.health.alerts import open_alert
    from app.services.devices import create_device
    with app.app_context():
        device, _ = create_device("北门")
        open_alert("fever", "gate", gate_id=device.gate_id, temperature=38.6, note="")
        db.session.commit()
    login(client, make, "health")
    page = client.get("/office/alerts").get_data(as_text=True)
    row = page[page.index('id="open-alerts"'):page.index('id="closed-alerts"')]
    assert "卡口测温 · 北门" in row and "未知人员" in row and "38.6℃" in row
    assert 'class="count">1<' in page
    with app.app_context():
        alert_id = db.session.scalar(db.select(HealthAlert.id))
    r = client.post(f"/office/alerts/{alert_id}/close",
                    data={"csrf_token": csrf_token(client, "/office/alerts"), "action": "remeasured"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    closed = page[page.index('id="closed-alerts"'):]
    assert "复测正常" in closed and "health-user" in closed and "没有待处理的提醒" in page
    r = client.post(f"/office/alerts/{alert_id}/close",
                    data={"csrf_token": csrf_token(client, "/office/alerts"), "action": "remeasured"},
                    follow_redirects=True)
    assert "该提醒已处理" in r.get_data(as_text=True)


def test_a_fever_at_the_gate_shows_in_the_list_and_holds_the_episode_open(app, client, make, scan):
    """A returnee's gate reading (the scan opens a GATE alert) is one more alert on the doctor's
    list, linked to the person, and an episode is not completed while it is open."""
    pid, person_id, token = holder_and_health_login(app, client, make, "门岗发热")
    arrived = (datetime.now(TZ) - timedelta(days=15)).date().isoformat()
    start(client, person_id, token, arrived_on=arrived, arrived_time="08:00")
    body = scan(make.token(pid), "in", temperature=38.5).get_json()
    assert body["reason"] == "FEVER"
    page = client.get("/office/alerts").get_data(as_text=True)
    row = page[page.index('id="open-alerts"'):page.index('id="closed-alerts"')]
    assert "门岗发热" in row and "卡口测温" in row and f"/office/people/{person_id}" in row
    ep = episode_of(app, person_id)
    r = client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "completed"},
                    follow_redirects=True)
    assert "还有未处理的健康提醒" in r.get_data(as_text=True)
    assert scan(make.token(pid), "out").get_json()["reason"] == "IN_QUARANTINE"
