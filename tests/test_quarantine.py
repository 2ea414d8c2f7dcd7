"""Home quarantine: the domain rules, the gate's refusal, the health page."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models import Person, TemperatureReport
from gatepass.quarantine import day_number, in_quarantine, quarantine_end, today_reports
from helpers import csrf_token, login

TZ = ZoneInfo("Asia/Shanghai")


def local(*args):
    return datetime(*args, tzinfo=TZ)


def test_fourteen_days_and_day_numbers():
    start = local(2026, 11, 1, 9, 0)
    until = quarantine_end(start)
    assert until == local(2026, 11, 15, 9, 0)
    assert day_number(until, start) == 1
    assert day_number(until, local(2026, 11, 14, 20, 0)) == 14
    assert in_quarantine(until, local(2026, 11, 15, 8, 59))
    assert not in_quarantine(until, local(2026, 11, 15, 9, 0))
    assert not in_quarantine(None, start)


def test_two_reports_a_day_and_overdue_slots():
    now = local(2026, 11, 23, 19, 0)
    reports = [(local(2026, 11, 23, 8, 0), 36.4), (local(2026, 11, 22, 15, 0), 38.0)]
    day = today_reports(reports, now, TZ)
    assert (day.am, day.pm, day.overdue, day.fever) == (36.4, None, ("pm",), False)
    day = today_reports(reports + [(local(2026, 11, 23, 14, 0), 37.5)], now, TZ)
    assert (day.pm, day.overdue, day.fever) == (37.5, (), True)
    assert today_reports([], local(2026, 11, 23, 9, 0), TZ).overdue == ()
    assert today_reports([], local(2026, 11, 23, 11, 0), TZ).overdue == ("am",)
    # quarantine started at 11:00: the morning report was never owed today
    started = local(2026, 11, 23, 11, 0)
    assert today_reports([], local(2026, 11, 23, 19, 0), TZ, started).overdue == ("pm",)
    assert today_reports([], local(2026, 11, 23, 19, 0), TZ, local(2026, 11, 22, 9)).overdue == ("am", "pm")


def test_gate_denies_going_out_during_quarantine(app, make, scan):
    pid = make.pass_for(name="返乡人")
    with app.app_context():
        p = db.session.scalar(db.select(Person).where(Person.name == "返乡人"))
        p.quarantine_until = datetime.now(timezone.utc) + timedelta(days=3)
        db.session.commit()
    body = scan(make.token(pid), "out").get_json()
    assert (body["allowed"], body["reason"]) == (False, "IN_QUARANTINE")
    assert body["message"] == "居家隔离期内，不得外出"
    assert scan(make.token(pid), "in").get_json()["reason"] == "OK"  # coming home is fine


def test_health_staff_start_report_and_end(app, client, make):
    person = make.person(name="钟南")
    login(client, make, "health")
    token = csrf_token(client, f"/office/people/{person}")
    r = client.post(f"/office/quarantine/{person}/start", data={"csrf_token": token, "days": 14})
    assert r.status_code == 302
    page = client.get("/office/quarantine").get_data(as_text=True)
    assert "钟南" in page and "1 / 14" in page
    client.post(f"/office/quarantine/{person}/report", data={"csrf_token": token, "value": "38.2"})
    page = client.get("/office/quarantine").get_data(as_text=True)
    assert "38.2℃" in page and "发热" in page
    r = client.post(f"/office/quarantine/{person}/report", data={"csrf_token": token, "value": "99"},
                    follow_redirects=True)
    assert "体温应在 34-43 °C 之间" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(TemperatureReport.id))) == 1
    client.post(f"/office/quarantine/{person}/end", data={"csrf_token": token})
    page = client.get("/office/quarantine").get_data(as_text=True)
    assert "已解除居家隔离：钟南" in page and "目前无人居家隔离" in page


def test_quarantine_pages_check_roles_and_csrf(app, client, make):
    person = make.person()
    login(client, make, "guard")
    assert client.get("/office/quarantine").status_code == 403
    token = csrf_token(client, "/office/")
    assert client.post(f"/office/quarantine/{person}/start", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, make, "office", "office2")
    assert client.post(f"/office/quarantine/{person}/start").status_code == 400
    with app.app_context():
        assert db.session.get(Person, person).quarantine_until is None
