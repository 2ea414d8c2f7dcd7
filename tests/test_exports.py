"""Scan-log exports (CLI and office downloads), bulk pass actions, purge."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.extensions import db
from app.models import Pass, Scan
from helpers import csrf_token, login


TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def scan_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Scan.id)))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def a_week_of_scans(make, scan) -> dict:
    """Scans 10 days, 3 days and 1 hour ago at 东门, one at 北门, one forged QR."""
    ids = {}
    for name, ago in (("老王", timedelta(days=10)), ("小李", timedelta(days=3)),
                      ("张三丰", timedelta(hours=1))):
        ids[name] = make.pass_for(name=name, building="3号楼", unit="2单元")
        assert scan(make.token(ids[name]), "out", scanned_at=NOW - ago,
                    temperature=36.6).get_json()["allowed"]
    ids["北门"] = make.pass_for(name="赵北门", category="sanitation")
    north = make.device("北门")
    assert scan(make.token(ids["北门"]), "in", scanned_at=NOW - timedelta(hours=2),
                device=north).status_code == 200
    forged = scan('=HYPERLINK("http://evil.example","点我")', "in",
                  scanned_at=NOW - timedelta(minutes=5), offline_reason="BAD_FORMAT")
    assert forged.get_json()["reason"] == "BAD_FORMAT"
    return ids


@pytest.mark.both_databases
def test_scans_export_cli_filters_by_since_and_opens_in_excel(app, make, scan, runner, tmp_path):
    a_week_of_scans(make, scan)
    since = (NOW - timedelta(days=5)).astimezone(TZ).date().isoformat()
    out = tmp_path / "scans.csv"

    result = runner.invoke(args=["scans", "export", "--since", since, "-o", str(out)])

    assert result.exit_code == 0, result.output
    rows = read_csv(out.read_bytes())
    header, body = rows[0], rows[1:]
    assert header[:8] == ["时间", "门岗", "方向", "通行证编号", "持证人", "类别", "住址", "结果"]
    col = {h: i for i, h in enumerate(header)}
    assert "wrote 4 scan(s)" in result.output and len(body) == 4
    holders = [r[col["持证人"]] for r in body]
    assert holders == ["", "张三丰", "赵北门", "小李"]  # newest first; 老王 is too old
    zhang = body[1]
    assert zhang[col["时间"]] == (NOW - timedelta(hours=1)).astimezone(TZ).strftime(
        "%Y-%m-%d %H:%M:%S")
    assert (zhang[col["门岗"]], zhang[col["方向"]], zhang[col["结果"]], zhang[col["原因代码"]],
            zhang[col["类别"]], zhang[col["住址"]], zhang[col["体温"]]) == \
        ("东门", "出", "通过", "OK", "居民", zhang[col["住址"]], "36.6")
    assert zhang[col["住址"]].startswith("3号楼2单元")
    assert zhang[col["原始内容"]] == ""  # a working token is not copied out
    forged = body[0]
    assert (forged[col["结果"]], forged[col["原因代码"]], forged[col["离线"]]) == ("拒绝", "BAD_FORMAT", "是")
    assert forged[col["原始内容"]].startswith("'=HYPERLINK")  # not a formula in Excel


def test_scans_export_until_and_gate(app, make, scan, runner, tmp_path):
    a_week_of_scans(make, scan)
    out = tmp_path / "old.csv"
    until = (NOW - timedelta(days=3)).astimezone(TZ).date().isoformat()  # inclusive date
    assert runner.invoke(args=["scans", "export", "--until", until, "-o", str(out)]).exit_code == 0
    assert [r[4] for r in read_csv(out.read_bytes())[1:]] == ["小李", "老王"]

    out = tmp_path / "north.csv"
    result = runner.invoke(args=["scans", "export", "--gate", "北门", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [r[4] for r in read_csv(out.read_bytes())[1:]] == ["赵北门"]

    result = runner.invoke(args=["scans", "export", "--gate", "西门", "-o", str(out)])
    assert result.exit_code != 0 and "no gate '西门'" in result.output
    result = runner.invoke(args=["scans", "export", "--since", "yesterday", "-o", str(out)])
    assert result.exit_code != 0


def test_scans_export_xlsx_opens_with_openpyxl(app, make, scan, runner, tmp_path):
    a_week_of_scans(make, scan)
    out = tmp_path / "scans.xlsx"
    result = runner.invoke(args=["scans", "export", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out).worksheets[0]
    rows = list(ws.values)
    assert rows[0][:4] == ("time", "gate", "direction", "pass") and len(rows) == 1 + 5
    assert isinstance(rows[2][0], datetime)  # a real date-time Excel can sort and filter
    assert rows[2][0] == (NOW - timedelta(hours=1)).astimezone(TZ).replace(tzinfo=None)
    assert rows[2][1:3] == ("东门", "out") and rows[2][4] == "张三丰"
    assert rows[1][11] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"


def test_office_scan_downloads_follow_the_page_filters(app, make, scan, client):
    a_week_of_scans(make, scan)
    login(client, make, "guard")
    page = client.get("/office/scans?verdict=denied&page=1").get_data(as_text=True)
    assert "/office/scans/export.csv?verdict=denied" in page
    assert "/office/scans/export.xlsx?verdict=denied" in page

    resp = client.get("/office/scans/export.csv?verdict=denied")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = read_csv(resp.data)
    assert len(rows) == 2 and rows[1][8] == "BAD_FORMAT"

    resp = client.get("/office/scans/export.xlsx?q=张三丰")
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0].values)
    assert [r[4] for r in rows[1:]] == ["张*丰"]  # a guard's export masks names (docs/health.md)

    assert app.test_client().get("/office/scans/export.csv").status_code == 302  # to login


def test_export_file_names_carry_the_community_local_date_and_time(app, make, client, monkeypatch):
    """At 23:34 UTC on 12-01 it is 07:34 on 12-02 in the community: the file says 12-02 0734,
    like the rows inside it (the server's own zone is UTC here, as on most servers)."""
    import time
    import time_machine
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    with time_machine.travel(datetime(2026, 12, 1, 23, 34, 30, tzinfo=timezone.utc), tick=False):
        login(client, make, "admin")
        scans = client.get("/office/scans/export.csv").headers["Content-Disposition"]
        audit = client.get("/office/audit/export.csv").headers["Content-Disposition"]
    assert 'filename="scans-20261202-0734.csv"' in scans
    assert 'filename="audit-20261202-0734.csv"' in audit


# -- bulk pass actions ------------------------------------------------------------

def statuses(app, ids) -> list[tuple[str, int]]:
    with app.app_context():
        return [(p.status, p.serial) for p in (db.session.get(Pass, i) for i in ids)]


def bulk(client, token, action, ids):
    return client.post("/office/passes/bulk", data={"csrf_token": token, "action": action,
                                                    "ids": [str(i) for i in ids],
                                                    "next": "/office/passes?status=active"})


@pytest.mark.both_databases
def test_bulk_actions_change_statuses_and_serials(app, make, client, scan):
    a, b, c, gone = (make.pass_for(name=n) for n in ("甲一", "乙二", "丙三", "丁四"))
    with app.app_context():
        db.session.get(Pass, gone).status = "revoked"
        db.session.commit()
    old_card = make.token(a)
    login(client, make, "office")
    page = client.get("/office/passes").get_data(as_text=True)
    assert f'name="ids" value="{a}"' in page
    token = csrf_token(client, "/office/passes")

    resp = bulk(client, token, "reissue", [a, gone])  # card lost; a revoked one in the lot

    assert resp.status_code == 302 and resp.headers["Location"] == "/office/passes?status=active"
    assert statuses(app, [a, gone]) == [("active", 2), ("revoked", 1)]
    html = client.get("/office/passes").get_data(as_text=True)
    assert "跳过 1 张已作废的通行证" in html and f"P{gone:06d}-1" in html
    assert scan(old_card, "in").get_json()["reason"] == "SUPERSEDED"
    assert scan(make.token(a), "in").get_json()["reason"] == "OK"

    bulk(client, token, "suspend", [b, c, gone])
    assert statuses(app, [b, c, gone]) == [("suspended", 1), ("suspended", 1), ("revoked", 1)]
    assert scan(make.token(b), "in").get_json()["reason"] == "SUSPENDED"
    bulk(client, token, "reinstate", [b])
    bulk(client, token, "revoke", [c])
    assert statuses(app, [a, b, c]) == [("active", 2), ("active", 1), ("revoked", 1)]


def test_bulk_actions_need_csrf_and_the_office_role(app, make, client):
    a = make.pass_for(name="甲一")
    login(client, make, "office")
    resp = client.post("/office/passes/bulk", data={"action": "revoke", "ids": [a]})
    assert resp.status_code == 400
    token = csrf_token(client, "/office/passes")
    assert bulk(client, token, "explode", [a]).status_code == 400
    for role in ("guard", "health"):
        other = app.test_client()
        login(other, make, role)
        assert bulk(other, csrf_token(other, "/office/scans"), "revoke", [a]).status_code == 403
    assert statuses(app, [a]) == [("active", 1)]
    resp = bulk(client, token, "revoke", [a])
    assert resp.status_code == 302 and statuses(app, [a]) == [("revoked", 1)]
    # an outside address in "next" is not followed
    resp = client.post("/office/passes/bulk", data={"csrf_token": token, "action": "revoke",
                                                    "ids": [a], "next": "https://evil.example/"})
    assert resp.headers["Location"] == "/office/passes"


# -- purge -------------------------------------------------------------------------

@pytest.mark.both_databases
def test_purge_refuses_without_yes_then_deletes_only_old_scans(app, make, scan, runner):
    a_week_of_scans(make, scan)
    assert scan_count(app) == 5

    result = runner.invoke(args=["scans", "purge", "--older-than", "7"])
    assert result.exit_code != 0
    assert "1 scan(s)" in result.output and "--yes" in result.output
    assert scan_count(app) == 5

    result = runner.invoke(args=["scans", "purge", "--older-than", "2", "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 scan(s)" in result.output
    with app.app_context():
        left = db.session.scalars(db.select(Scan.scanned_at)).all()
    assert len(left) == 3 and min(left) > NOW - timedelta(days=2)

    result = runner.invoke(args=["scans", "purge", "--older-than", "2"])
    assert result.exit_code == 0 and "0 scan(s)" in result.output
    assert runner.invoke(args=["scans", "purge", "--older-than", "0", "--yes"]).exit_code != 0
