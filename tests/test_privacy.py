"""Who sees what of the gate's records (issue 15 §2): health data only for health staff.

Guards: allowed/denied and a neutral "请联系社区" for a health reason, masked names, no
temperatures. The office: full names, the same neutral reason, no temperatures. Health
staff: everything, and each view of it is in the health-view log. The gate snapshot: a
may-not-go-out flag, never a quarantine date.
"""
import csv
import io
from datetime import datetime, timedelta, timezone

import openpyxl

from app.extensions import db
from app.health.models import QuarantineEpisode
from app.models import AuditEntry, Pass
from gatepass.tokens import KeyRing, issue_static
from gatepass.wire import NO_EXIT_MARK, parse_time
from helpers import login
from scanner.offline import OfflineJudge, Snapshot, SnapshotStore

#: What must never reach a guard or the office: health reasons (codes and words), the reading.
HEALTH_WORDS = ("体温异常", "居家隔离期内", "FEVER", "IN_QUARANTINE", "38.5")


def health_scans(app, make, scan) -> tuple[int, int]:
    """张三丰 with a fever at the gate (FEVER), then in home quarantine refused going out
    (IN_QUARANTINE, the gate's offline verdict the same); 李四光 let in online where the gate
    had shown FEVER offline. Returns the two pass ids."""
    zhang, li = make.pass_for(name="张三丰"), make.pass_for(name="李四光")
    assert scan(make.token(zhang), "in", temperature=38.5).get_json()["reason"] == "FEVER"
    with app.app_context():
        from app.health import episodes as health
        health.start_episode(db.session.get(Pass, zhang).person)
        db.session.commit()
    assert scan(make.token(zhang), "out", offline_reason="IN_QUARANTINE").get_json()["reason"] \
        == "IN_QUARANTINE"
    assert scan(make.token(li), "in", offline_reason="FEVER").get_json()["reason"] == "OK"
    return zhang, li


def table_of(html: str) -> str:
    return html[html.index('<table class="grid">'):]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def views_logged(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.kind == "view").order_by(AuditEntry.id)))


def assert_no_health_data(text: str) -> None:
    for word in HEALTH_WORDS:
        assert word not in text, word


# -- guards -------------------------------------------------------------------------------

def test_a_guards_dashboard_shows_a_neutral_reason_and_masked_names(app, client, make, scan):
    health_scans(app, make, scan)
    login(client, make, "guard")
    html = client.get("/office/").get_data(as_text=True)
    assert_no_health_data(html)
    # both health denials under one neutral line, which links to exactly those scans
    assert 'data-reason="CONTACT_OFFICE">2</b>' in html and "请联系社区" in html
    assert "reason=CONTACT_OFFICE" in html
    assert "张*丰" in html and "张三丰" not in html
    english = client.get("/office/?lang=en").get_data(as_text=True)
    assert "Please contact the community office" in english and "Fever" not in english


def test_a_guards_scan_log_and_downloads_show_no_health_reason_even_offline(app, client, make, scan):
    health_scans(app, make, scan)
    login(client, make, "guard")
    page = client.get("/office/scans").get_data(as_text=True)
    assert_no_health_data(page)
    assert "(离线: 请联系社区)" in page and "张*丰" in page and "李*光" in page
    neutral = table_of(client.get("/office/scans?reason=CONTACT_OFFICE").get_data(as_text=True))
    assert neutral.count('class="denied"') == 2 and "李*光" not in neutral

    rows = read_csv(client.get("/office/scans/export.csv").data)
    col = {h: i for i, h in enumerate(rows[0])}
    assert_no_health_data(repr(rows))
    assert [(r[col["原因代码"]], r[col["离线时门岗判定"]]) for r in rows[1:]] == \
        [("OK", "CONTACT_OFFICE"), ("CONTACT_OFFICE", "CONTACT_OFFICE"), ("CONTACT_OFFICE", "")]
    assert {r[col["原因"]] for r in rows[1:] if r[col["结果"]] == "拒绝"} == {"请联系社区"}
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/office/scans/export.xlsx").data))
    assert_no_health_data(repr(list(sheet.worksheets[0].values)))
    assert views_logged(app) == []


def test_a_guards_shift_summary_on_the_gate_page_adds_health_reasons_up_neutrally(
        app, client, make, scan):
    from app.models import Gate, User
    from app.duty import guards as duty
    login(client, make, "guard", "zhao")
    with app.app_context():
        gid = db.session.scalar(db.select(Gate.id).where(Gate.name == "东门"))
        user_id = db.session.scalar(db.select(User.id).where(User.username == "zhao"))
        duty.sign_on(duty.add_guard("赵师傅", user_id=user_id), db.session.get(Gate, gid))
        db.session.commit()
    health_scans(app, make, scan)  # at 东门, the `scan` fixture's gate
    html = client.get(f"/office/gate?gate={gid}").get_data(as_text=True)
    assert "赵师傅" in html
    assert_no_health_data(html)
    assert '<li class="deny">请联系社区 <b>2</b></li>' in html


def test_who_is_outside_shows_guards_masked_names_and_the_office_full_ones(app, make, scan):
    pid = make.pass_for(name="周八一")
    scan(make.token(pid), "out")
    guard, office = app.test_client(), app.test_client()
    login(guard, make, "guard")
    login(office, make, "office")
    page = guard.get("/office/outside").get_data(as_text=True)
    assert "周*一" in page and "周八一" not in page
    assert "周八一" in office.get("/office/outside").get_data(as_text=True)


# -- the office ----------------------------------------------------------------------------

def test_the_office_sees_full_names_but_no_health_data(app, client, make, scan):
    health_scans(app, make, scan)
    login(client, make, "office")
    page = client.get("/office/scans").get_data(as_text=True)
    assert_no_health_data(page)
    assert "张三丰" in table_of(page) and "<th>体温</th>" not in page and "请联系社区" in page
    filtered = table_of(client.get("/office/scans?reason=IN_QUARANTINE").get_data(as_text=True))
    assert ">通过</span>" in filtered  # no filter on what the office may not see: ignored
    rows = read_csv(client.get("/office/scans/export.csv").data)
    assert_no_health_data(repr(rows))
    assert "张三丰" in repr(rows)
    assert_no_health_data(client.get("/office/").get_data(as_text=True))
    assert views_logged(app) == []  # nothing of health was shown


# -- health staff --------------------------------------------------------------------------

def test_health_staff_see_it_all_and_each_view_is_logged(app, client, make, scan):
    zhang, _li = health_scans(app, make, scan)
    login(client, make, "health", "dr-wang")
    page = client.get("/office/scans").get_data(as_text=True)
    assert "38.5" in page and "体温异常" in page and "居家隔离期内" in page
    assert "(离线: 体温异常" in page and "张三丰" in page
    assert views_logged(app) == ["health.scans"]
    client.get("/office/scans?q=nobody-at-all")  # no health data on the page: nothing logged
    assert views_logged(app) == ["health.scans"]

    rows = read_csv(client.get("/office/scans/export.csv").data)
    assert "FEVER" in repr(rows) and "38.5" in repr(rows)
    html = client.get("/office/").get_data(as_text=True)
    assert 'data-reason="FEVER">1</b>' in html and 'data-reason="IN_QUARANTINE">1</b>' in html
    assert views_logged(app) == ["health.scans", "health.scans_export", "health.dashboard_scans"]
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "health.scans"))
        assert entry.username == "dr-wang" and entry.detail == "3 rows with health data"


def test_the_operators_cli_export_is_logged_as_a_view_of_health_data(app, make, scan, runner,
                                                                     tmp_path):
    health_scans(app, make, scan)
    result = runner.invoke(args=["scans", "export", "-o", str(tmp_path / "scans.csv")])
    assert result.exit_code == 0, result.output
    assert "38.5" in (tmp_path / "scans.csv").read_text(encoding="utf-8-sig")
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.kind == "view"))
        assert (entry.action, entry.username, entry.detail) == \
            ("health.scans_export", "cli", "cli csv 3 rows")


# -- the gate snapshot ---------------------------------------------------------------------

def snapshot_row(client, device_token, pass_id) -> list:
    body = client.get("/api/v1/gate/snapshot",
                      headers={"Authorization": f"Bearer {device_token}"}).get_json()
    return body["passes"][str(pass_id)]


def test_the_gate_snapshot_carries_a_flag_never_a_date_of_the_stay(app, client, make, device_token):
    pid = make.pass_for(name="返乡人")
    assert snapshot_row(client, device_token, pid)[5] is None
    with app.app_context():
        from app.health import episodes as health
        health.start_episode(db.session.get(Pass, pid).person)
        db.session.commit()
    assert snapshot_row(client, device_token, pid)[5] == NO_EXIT_MARK
    with app.app_context():
        health.end_episode(db.session.scalar(db.select(QuarantineEpisode)), "left")
        db.session.commit()
    assert snapshot_row(client, device_token, pid)[5] is None  # not the time the stay ended


def test_the_offline_judge_reads_the_flag_and_a_row_cached_with_a_date(tmp_path):
    KeyRing.create_key(tmp_path / "keys", "k1")
    ring = KeyRing.load(tmp_path / "keys")
    now = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    row = [1, "active", "resident", None, None]
    store = SnapshotStore(tmp_path / "snap.json", "http://127.0.0.1:9")
    store.current = Snapshot({"gate": "东门", "retired_kids": [], "rules": {}, "passes": {
        "1": row + [NO_EXIT_MARK], "2": row + [None], "3": row + [True],
        # rows cached before the service sent flags: a date in the past is free, ahead is not
        "4": row + [(now - timedelta(hours=1)).isoformat()],
        "5": row + [(now + timedelta(hours=1)).isoformat()]}})
    judge = OfflineJudge(ring, store)
    out = {pid: judge.judge(issue_static(ring, pid, 1), "out", now).reason for pid in range(1, 6)}
    assert out == {1: "IN_QUARANTINE", 2: "OK", 3: "IN_QUARANTINE", 4: "OK", 5: "IN_QUARANTINE"}
    assert judge.judge(issue_static(ring, 1, 1), "in", now).reason == "OK"  # coming home is fine
    # a scanner older than the flag reads the marker as a date far ahead: it denies alike
    assert parse_time(NO_EXIT_MARK) > now + timedelta(days=365 * 100)
