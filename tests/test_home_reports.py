"""The resident's own twice-daily report on the phone pass page, and the guard's view of health data."""
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from app.extensions import db
from app.health.readings import HealthAlert, TemperatureReport
from app.models import Pass, Scan
from app.health.models import QuarantineEpisode
from helpers import csrf_token, login


def returnee_with_link(app, client, make, name="居家人"):
    from app.health import episodes as health
    from app.services import issuing
    pid = make.pass_for(name=name)
    with app.app_context():
        p = db.session.get(Pass, pid)
        health.start_episode(p.person, datetime.now(timezone.utc))
        db.session.commit()
        return pid, f"/p/{issuing.resident_link_token(p)}"


def test_the_report_form_shows_only_during_quarantine_with_the_slot_by_the_clock(app, client, make):
    with freeze_time(datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)):  # 09:00 Beijing
        _pid, link = returnee_with_link(app, client, make)
        page = client.get(link).get_data(as_text=True)
        assert 'id="report"' in page and "现在是上午" in page and "第 1 天 / 共 14 天" in page
        assert 'name="csrf_token"' in page and 'type="number"' in page
    with freeze_time(datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)):  # 15:00
        assert "现在是下午" in client.get(link).get_data(as_text=True)
    other = make.pass_for(name="没隔离")
    from app.services import issuing
    with app.app_context():
        plain = f"/p/{issuing.resident_link_token(db.session.get(Pass, other))}"
    assert 'id="report"' not in client.get(plain).get_data(as_text=True)


def test_resident_reports_normal_and_fever_readings(app, client, make):
    t0 = datetime(2026, 11, 20, 0, 30, tzinfo=timezone.utc)  # 08:30 Beijing
    with freeze_time(t0):
        _pid, link = returnee_with_link(app, client, make)
        token = csrf_token(client, link)
        r = client.post(f"{link}/report", data={"csrf_token": token, "value": "36.6"}, follow_redirects=True)
        page = r.get_data(as_text=True)
        assert "已上报 36.6℃，谢谢！" in page and "上午：\n      <b>36.6℃</b>" in page
        r = client.post(f"{link}/report", data={"csrf_token": token, "value": "45"}, follow_redirects=True)
        assert "体温应在 34-43 °C 之间" in r.get_data(as_text=True)
        r = client.post(f"{link}/report", data={"csrf_token": token, "value": ""}, follow_redirects=True)
        assert "请填写体温" in r.get_data(as_text=True)
        assert client.post(f"{link}/report", data={"value": "36.6"}).status_code == 400  # no CSRF
    with freeze_time(t0.replace(hour=7)):  # 15:00: the afternoon slot
        r = client.post(f"{link}/report", data={"csrf_token": token, "value": "38.1", "symptoms": ["咳嗽", "乱填"]},
                        follow_redirects=True)
        assert "社区医生会尽快联系您" in r.get_data(as_text=True)
        assert client.post("/p/forged/report", data={"csrf_token": token, "value": "36.6"}).status_code == 404
    with app.app_context():
        reports = db.session.scalars(db.select(TemperatureReport).order_by(TemperatureReport.id)).all()
        assert [(r.value, r.symptoms, r.recorded_by) for r in reports] == [(36.6, "", None), (38.1, "咳嗽", None)]
        alert = db.session.scalar(db.select(HealthAlert))
        assert (alert.kind, alert.source, alert.temperature, alert.note) == ("fever", "home_report", 38.1, "咳嗽")


def test_a_symptom_alone_opens_a_symptom_alert(app, client, make):
    _pid, link = returnee_with_link(app, client, make)
    client.post(f"{link}/report", data={"csrf_token": csrf_token(client, link), "value": "36.8",
                                        "symptoms": "嗅觉或味觉减退"})
    with app.app_context():
        assert db.session.scalar(db.select(HealthAlert.kind)) == "symptom"


def test_after_the_end_the_form_is_gone_and_reports_are_refused(app, client, make):
    _pid, link = returnee_with_link(app, client, make)
    token = csrf_token(client, link)
    with app.app_context():
        ep = db.session.scalar(db.select(QuarantineEpisode))
        from app.health import episodes as health
        health.end_episode(ep, "left")
        db.session.commit()
    assert 'id="report"' not in client.get(link).get_data(as_text=True)
    r = client.post(f"{link}/report", data={"csrf_token": token, "value": "36.6"}, follow_redirects=True)
    assert "您不在居家隔离中" in r.get_data(as_text=True)


def test_guards_see_no_temperatures_full_names_or_health_reasons(app, client, make, scan):
    pid = make.pass_for(name="张三丰", phone="13911112222")
    scan(make.token(pid), "in", temperature=36.7)
    with app.app_context():
        from app.health import episodes as health
        health.start_episode(db.session.get(Pass, pid).person)
        db.session.commit()
    scan(make.token(pid), "out")  # IN_QUARANTINE
    login(client, make, "guard")
    page = client.get("/office/scans").get_data(as_text=True)
    table = page[page.index('<table class="grid">'):]
    assert "张*丰" in table and "张三丰" not in table
    assert "36.7" not in table and "体温" not in table
    assert "居家隔离期内" not in page and "请联系社区" in table and 'value="IN_QUARANTINE"' not in page
    assert "张*丰" not in client.get("/office/scans?q=13911112222").get_data(as_text=True).split('<table class="grid">')[1]
    assert "张*丰" in client.get("/office/scans?q=张三").get_data(as_text=True)
    filtered = client.get("/office/scans?reason=IN_QUARANTINE").get_data(as_text=True)
    assert ">通过</span>" in filtered  # a health reason is no filter for a guard: ignored
    csv = client.get("/office/scans/export.csv").data.decode("utf-8-sig")
    assert "张*丰" in csv and "张三丰" not in csv and "36.7" not in csv
    assert "IN_QUARANTINE" not in csv and "请联系社区" in csv
    assert client.get("/office/scans/export.csv?q=13911112222").data.decode("utf-8-sig").count("\n") == 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/office/")})
    login(client, make, "office")
    page = client.get("/office/scans?q=13911112222").get_data(as_text=True)
    table = page[page.index('<table class="grid">'):]
    # the office sees full names but no health data: temperatures and health reasons are health's
    assert "张三丰" in table and "36.7" not in table and "居家隔离期内" not in page and "请联系社区" in table
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Scan.id))) == 2


def test_a_repeat_in_the_same_slot_replaces_the_reading_with_one_alert_per_slot(app, client, make):
    """Twelve posts in a row (six of them fevers) are one reading and one alert in the slot."""
    t0 = datetime(2026, 11, 20, 0, 30, tzinfo=timezone.utc)  # 08:30 Beijing
    with freeze_time(t0):
        pid, link = returnee_with_link(app, client, make)
        with app.app_context():
            from app.health import episodes as health
            from app.health.alerts import open_alert
            ep = db.session.scalar(db.select(QuarantineEpisode))
            open_alert("symptom", "home_report", person_id=ep.person_id, note="登记时自报：咳嗽").episode_id = ep.id
            ep_id = ep.id
            db.session.commit()  # as a registration leaves it: an alert without a temperature
        token = csrf_token(client, link)
    for i in range(12):
        with freeze_time(t0 + timedelta(minutes=5 * i)):
            client.post(f"{link}/report", data={"csrf_token": token, "value": "38.4" if i % 2 else "36.6"})
    with freeze_time(t0 + timedelta(hours=3)):  # 11:30: still the morning slot
        client.post(f"{link}/report", data={"csrf_token": token, "value": "36.9"})
    with freeze_time(t0.replace(hour=7)):  # 15:00: the afternoon slot has its own
        client.post(f"{link}/report", data={"csrf_token": token, "value": "38.2"})
        client.post(f"{link}/report", data={"csrf_token": token, "value": "38.6"})
        page = client.get(link).get_data(as_text=True)
        assert "上午：\n      <b>36.9℃</b>" in page
    with app.app_context():
        reports = db.session.scalars(db.select(TemperatureReport).order_by(TemperatureReport.id)).all()
        assert [r.value for r in reports] == [36.9, 38.6]
        alerts = db.session.scalars(db.select(HealthAlert).order_by(HealthAlert.id)).all()
        assert [(a.kind, a.temperature) for a in alerts] == [("symptom", None), ("fever", 38.4), ("fever", 38.6)]
    make.user("nurse", "health")
    with freeze_time(t0.replace(hour=8)), app.app_context():
        from app.models import User
        nurse = db.session.scalar(db.select(User.id).where(User.username == "nurse"))
        for value in (38.8, 38.9):
            health.record_report(db.session.get(QuarantineEpisode, ep_id), value, user_id=nurse)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(TemperatureReport.id))) == 4  # staff entries all kept


def test_staff_and_resident_pages_say_the_same_thing_past_the_planned_end(app, client, make):
    """Day 16 of a 14-day stay nobody has ended: both pages say 已满 14 天，等待社区解除
    (one function, ``i18n.quarantine_day``), never "第 16 天 / 共 14 天"."""
    from datetime import timedelta
    t0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing
    with freeze_time(t0):
        pid, link = returnee_with_link(app, client, make, name="超期人")
    with app.app_context():
        ep = db.session.scalar(db.select(QuarantineEpisode.id))
    with freeze_time(t0 + timedelta(days=15, hours=2)):  # day 16
        resident = client.get(link).get_data(as_text=True)
        login(client, make, "health")
        staff = client.get(f"/office/quarantine/episodes/{ep}").get_data(as_text=True)
        listing = client.get("/office/quarantine").get_data(as_text=True)
    for page in (resident, staff):
        assert "已满 14 天，等待社区解除" in page and "第 16 天" not in page
    assert "已满 14 天，待解除" in listing and "16 / 14" not in listing
    with freeze_time(t0 + timedelta(days=2, hours=2)):  # day 3
        login(client, make, "health", username="health-2")
        assert "第 3 天 / 共 14 天" in client.get(f"/office/quarantine/episodes/{ep}").get_data(as_text=True)
