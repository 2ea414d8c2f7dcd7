"""The roster import/export: real CSV (GBK, UTF-8 with BOM) and XLSX files,
through the CLI and the office page, checked against the database."""
from __future__ import annotations

import codecs
import csv
import io
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from app.extensions import db
from app.models import Building, Household, Pass, Person, Vehicle
from helpers import ROOT, csrf_token, login


HEADER = ["类型(人员/车辆)", "楼栋", "单元", "房号", "姓名", "手机号",
          "类别(居民/租户/环卫/工作人员/快递外卖/其他)", "身份证号", "工作单位",
          "返乡人员(是/否)", "车牌号", "车辆类型(本小区/外来)"]


def id_number(first17: str) -> str:
    """A well-formed 18-digit ID number (GB 11643 check digit)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


ID_ZHANG = id_number("11010119800101123")
ID_BAD_CHECK = ID_ZHANG[:-1] + ("1" if ID_ZHANG[-1] != "1" else "2")

# One household office's sheet: a resident with his car on his own line, his
# tenant, a sanitation worker without address, a child without phone, a car
# listed on its own line with its owner's phone, and a visitor's car.
CLEAN = [
    ["人员", "3号楼", "2单元", "301", "张三丰", "13912345678", "居民", ID_ZHANG, "", "否",
     "京A12345", "本小区"],
    ["人员", "3号楼", "2单元", "301", "李四", "139 1234 5679", "租户", "", "", "是", "", ""],
    ["人员", "", "", "", "王环卫", "13700001111", "环卫", "", "区环卫所", "否", "", ""],
    ["人员", "5", "1", "102", "小明", "", "居民", "", "", "", "", ""],
    ["车辆", "5号楼", "1单元", "102", "", "13912345679", "", "", "", "", "京AD12345", "本小区"],
    ["车辆", "", "", "", "", "", "", "", "", "", "沪B·9F123", "外来"],
]

# Line numbers as Excel shows them (header = line 1) -> (code, column).
BAD = [
    (["人员", "3号楼", "2单元", "301", "张三丰", "13912345678", "居民", "", "", "否", "", ""],
     None),
    (["人员", "3号楼", "2单元", "302", "", "13900000001", "居民", "", "", "", "", ""],
     ("MISSING_FIELD", "姓名")),
    (["人员", "3号楼", "2单元", "303", "赵六", "1390000", "居民", "", "", "", "", ""],
     ("BAD_PHONE", "手机号")),
    (["人员", "3号楼", "2单元", "304", "钱七", "13912345678", "居民", "", "", "", "", ""],
     ("DUPLICATE_PHONE", "手机号")),
    (["人员", "9号楼", "1单元", "101", "孙八", "13900000002", "居民", "", "", "", "", ""],
     ("UNKNOWN_BUILDING", "楼栋")),
    (["车辆", "", "", "", "", "", "", "", "", "", "京A1234", "外来"], ("BAD_PLATE", "车牌号")),
    (["人员", "3号楼", "2单元", "305", "周九", "13900000003", "保安", "", "", "", "", ""],
     ("BAD_CATEGORY", "类别")),
    (["人员", "3号楼", "2单元", "306", "吴十", "13900000004", "居民", ID_BAD_CHECK, "", "", "", ""],
     ("BAD_ID_CARD", "身份证号")),
]


def csv_bytes(rows, encoding: str, header=HEADER) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows, title: str | None = None, header=HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人员名册"
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def counts(app) -> dict:
    with app.app_context():
        return {m.__name__: db.session.scalar(db.select(db.func.count()).select_from(m))
                for m in (Building, Household, Person, Vehicle, Pass)}


def add_building(app, name="3号楼"):
    with app.app_context():
        db.session.add(Building(name=name))
        db.session.commit()


def run_import(runner, tmp_path, name: str, data: bytes, *args):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(args=["roster", "import", str(path), *args])


@pytest.mark.parametrize("kind", ["gbk-csv", "utf8-bom-csv", "xlsx"])
def test_dry_run_reports_every_bad_row_and_writes_nothing(app, runner, tmp_path, kind):
    add_building(app, "3号楼")
    rows = [r for r, _ in BAD]
    if kind == "gbk-csv":
        data, name, offset = csv_bytes(rows, "gbk"), "名册.csv", 0
        assert not data.startswith(b"\xef\xbb\xbf")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really GBK, not UTF-8 by accident
    elif kind == "utf8-bom-csv":
        data, name, offset = b"\xef\xbb\xbf" + csv_bytes(rows, "utf-8"), "roster.csv", 0
    else:  # a title line above the header, as offices do: every line moves down one
        data, name, offset = xlsx_bytes(rows, title="幸福里社区 人员车辆名册"), "名册.xlsx", 1
    before = counts(app)

    result = run_import(runner, tmp_path, name, data, "--dry-run")

    assert result.exit_code != 0
    out = result.output
    for i, (_row, expected) in enumerate(BAD):
        line = i + 2 + offset
        if expected is None:
            assert not any(ln.startswith(f"第{line}行") for ln in out.splitlines())
            continue
        code, column = expected
        assert f"第{line}行 {column}: " in out, (line, out)
        assert any(ln.startswith(f"第{line}行 ") and f"({code}:" in ln for ln in out.splitlines()), \
            (line, code, out)
    assert f"与第{2 + offset}行重复" in out  # the duplicate phone names the first line
    assert "9号楼" in out
    assert ID_BAD_CHECK not in out and ID_BAD_CHECK[:10] not in out
    assert counts(app) == before


@pytest.mark.both_databases
def test_one_bad_row_and_nothing_is_written(app, runner, tmp_path):
    rows = CLEAN + [["人员", "3号楼", "2单元", "309", "郑十一", "12345", "居民", "", "", "", "", ""]]
    before = counts(app)
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(rows, "utf-8-sig"))
    assert result.exit_code != 0
    assert f"第{len(rows) + 1}行 手机号" in result.output
    assert "nothing was written" in result.output
    assert counts(app) == before == {"Building": 0, "Household": 0, "Person": 0, "Vehicle": 0,
                                     "Pass": 0}


@pytest.mark.both_databases
def test_clean_import_creates_households_people_vehicles_and_passes(app, runner, tmp_path):
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN, "gbk"))
    assert result.exit_code == 0, result.output
    assert counts(app) == {"Building": 2, "Household": 2, "Person": 4, "Vehicle": 3, "Pass": 7}
    with app.app_context():
        people = {p.name: p for p in db.session.scalars(db.select(Person))}
        zhang, li, wang, ming = (people[n] for n in ("张三丰", "李四", "王环卫", "小明"))
        assert (zhang.address, zhang.phone, zhang.category) == ("3号楼2单元301", "13912345678",
                                                                "resident")
        assert zhang.id_card_masked == ID_ZHANG[:4] + "*" * 10 + ID_ZHANG[-4:]
        assert (li.household_id, li.phone, li.category, li.is_returnee) == \
            (zhang.household_id, "13912345679", "tenant", True)
        assert (wang.household, wang.employer, wang.category) == (None, "区环卫所", "sanitation")
        assert (ming.address, ming.phone) == ("5号楼1单元102", None)  # "5", "1" normalised
        cars = {v.plate: v for v in db.session.scalars(db.select(Vehicle))}
        assert set(cars) == {"京A12345", "京AD12345", "沪B9F123"}
        assert (cars["京A12345"].owner, cars["京A12345"].household, cars["京A12345"].kind) == \
            (zhang, zhang.household, "own")
        assert (cars["京AD12345"].owner, cars["京AD12345"].address) == (li, "5号楼1单元102")
        assert (cars["沪B9F123"].kind, cars["沪B9F123"].household) == ("outside", None)
        assert {p.category for p in db.session.scalars(db.select(Pass))} == \
            {"resident", "tenant", "sanitation", "vehicle"}


@pytest.mark.both_databases
def test_reimport_updates_instead_of_duplicating(app, runner, tmp_path):
    assert run_import(runner, tmp_path, "r.xlsx", xlsx_bytes(CLEAN)).exit_code == 0
    before = counts(app)
    changed = [row[:] for row in CLEAN]
    changed[1][6] = "居民"  # 李四 bought the flat: tenant -> resident
    changed[3][5] = "13600002222"  # 小明 got a phone: matched by name in his household

    result = run_import(runner, tmp_path, "r2.xlsx", xlsx_bytes(changed))

    assert result.exit_code == 0, result.output
    assert "people +0 ~2 =2" in result.output and "vehicles +0 ~0 =3" in result.output
    assert counts(app) == before
    with app.app_context():
        li = db.session.scalar(db.select(Person).where(Person.name == "李四"))
        assert li.category == "resident"
        assert [p.category for p in li.passes] == ["resident"]  # the gate follows
        ming = db.session.scalar(db.select(Person).where(Person.name == "小明"))
        assert ming.phone == "13600002222"


def test_phone_of_another_person_in_the_database_is_refused(app, make, runner, tmp_path):
    make.person(name="刘备", building="3号楼", room="101", phone="13912345678")
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN[:1], "utf-8"))
    assert result.exit_code != 0
    assert "第2行 手机号: 手机号已登记给 刘*" in result.output
    assert "DUPLICATE_PHONE" in result.output


def test_id_numbers_are_stored_masked_only(app, runner, tmp_path, database_url):
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN, "utf-8"))
    assert result.exit_code == 0
    with app.app_context():
        zhang = db.session.scalar(db.select(Person).where(Person.name == "张三丰"))
        assert zhang.id_card_masked == ID_ZHANG[:4] + "**********" + ID_ZHANG[-4:]
        db.session.remove()
        db.engine.dispose()  # checkpoint the WAL into the file
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))
    assert stored and ID_ZHANG.encode() not in stored and ID_ZHANG[4:14].encode() not in stored


def test_id_number_excel_stored_as_a_number_is_refused(app, runner, tmp_path):
    row = CLEAN[0][:]
    row[7] = float(ID_ZHANG)  # what Excel keeps of 18 digits typed into a number cell
    result = run_import(runner, tmp_path, "r.xlsx", xlsx_bytes([row]), "--dry-run")
    assert result.exit_code != 0
    assert "第2行 身份证号: 身份证号被Excel存成了数字" in result.output
    assert counts(app)["Person"] == 0


@pytest.mark.parametrize("plate,ok", [("京A12345", True), ("京AD12345", True), ("粤B12345F", True),
                                      ("京a·12345", True), ("京A1234", False), ("A12345", False),
                                      ("京I12345", False), ("京A123456", False)])
def test_plate_format(app, runner, tmp_path, plate, ok):
    row = ["车辆", "", "", "", "", "", "", "", "", "", plate, "外来"]
    result = run_import(runner, tmp_path, "r.csv", csv_bytes([row], "utf-8"), "--dry-run")
    assert (result.exit_code == 0) is ok, result.output
    assert ("BAD_PLATE" in result.output) is not ok


def test_english_headers_are_accepted(app, runner, tmp_path):
    header = ["type", "building", "unit", "room", "name", "phone", "category", "ID number",
              "employer", "returnee", "plate", "vehicle type"]
    rows = [["person", "3", "2", "301", "Zhang San", "+86 139 1234 5678", "tenant", "", "",
             "no", "", ""],
            ["vehicle", "", "", "", "", "", "", "", "", "", "京B12345", "outside"]]
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(rows, "utf-8", header))
    assert result.exit_code == 0, result.output
    with app.app_context():
        p = db.session.scalar(db.select(Person))
        assert (p.name, p.phone, p.category, p.address) == ("Zhang San", "13912345678", "tenant",
                                                            "3号楼2单元301")


def test_unknown_building_is_created_only_when_allowed(app, runner, tmp_path):
    add_building(app, "3号楼")
    row = ["人员", "30号楼", "1单元", "101", "孙八", "13900000002", "居民", "", "", "", "", ""]
    data = csv_bytes([row], "utf-8")
    assert run_import(runner, tmp_path, "r.csv", data).exit_code != 0
    result = run_import(runner, tmp_path, "r.csv", data, "--create-buildings")
    assert result.exit_code == 0, result.output
    assert counts(app)["Building"] == 2


def test_no_passes_flag(app, runner, tmp_path):
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN, "utf-8"), "--no-issue-passes")
    assert result.exit_code == 0
    assert counts(app)["Pass"] == 0 and counts(app)["Person"] == 4


@pytest.mark.both_databases
def test_export_import_round_trip(app, runner, tmp_path):
    assert run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN, "gbk")).exit_code == 0
    first = {}
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"export.{ext}"
        result = runner.invoke(args=["roster", "export", str(out)])
        assert result.exit_code == 0, result.output
        first[ext] = out.read_bytes()
    assert first["csv"].startswith(b"\xef\xbb\xbf")
    # Re-importing the export into the same database changes nothing ...
    for ext in ("csv", "xlsx"):
        result = run_import(runner, tmp_path, f"again.{ext}", first[ext])
        assert result.exit_code == 0, result.output
        assert "people +0 ~0 =4" in result.output and "vehicles +0 ~0 =3" in result.output
    # ... and into an empty one rebuilds the same roster.
    with app.app_context():
        db.drop_all()
        db.create_all()
    assert run_import(runner, tmp_path, "fresh.xlsx", first["xlsx"]).exit_code == 0
    assert counts(app) == {"Building": 2, "Household": 2, "Person": 4, "Vehicle": 3, "Pass": 7}
    out = tmp_path / "second.csv"
    assert runner.invoke(args=["roster", "export", str(out)]).exit_code == 0
    assert out.read_bytes() == first["csv"]


def test_template_is_readable_and_imports_as_empty(app, runner, tmp_path):
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"template.{ext}"
        assert runner.invoke(args=["roster", "template", str(out)]).exit_code == 0
        result = run_import(runner, tmp_path, f"t.{ext}", out.read_bytes(), "--dry-run")
        assert result.exit_code == 0 and "0 row(s) OK" in result.output
    wb = openpyxl.load_workbook(tmp_path / "template.xlsx")
    assert [c.value for c in wb.worksheets[0][1]] == HEADER
    assert "说明" in wb.sheetnames


# -- the office page -----------------------------------------------------------

def post_roster(client, data: bytes, filename: str, button: str, token: str | None, **extra):
    form = {"file": (io.BytesIO(data), filename), button: "1", **extra}
    if token:
        form["csrf_token"] = token
    return client.post("/office/roster", data=form, content_type="multipart/form-data")


def test_office_upload_preview_then_import(app, make, client):
    login(client, make, "office")
    page = client.get("/office/roster")
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    token = csrf_token(client, "/office/roster")
    add_building(app, "3号楼")
    bad = xlsx_bytes([r for r, _ in BAD])
    before = counts(app)

    resp = post_roster(client, bad, "名册.xlsx", "submit", token)  # a real import, bad rows

    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for i, (_row, expected) in enumerate(BAD):
        if expected:
            assert f"<td>{i + 2}</td><td>{expected[1]}</td>" in html, i + 2
    assert "未写入任何数据" in html and ID_BAD_CHECK not in html
    assert counts(app) == before

    good = csv_bytes(CLEAN, "gbk")
    resp = post_roster(client, good, "名册.csv", "preview", token, create_buildings="y",
                       issue_passes="y")
    assert "预检通过" in resp.get_data(as_text=True)
    assert counts(app) == before
    resp = post_roster(client, good, "名册.csv", "submit", token, create_buildings="y")
    assert "导入完成" in resp.get_data(as_text=True)
    assert counts(app)["Person"] == 4 and counts(app)["Pass"] == 0  # passes box left unticked


def test_office_upload_needs_csrf_and_the_office_role(app, make, client):
    login(client, make, "office")
    resp = post_roster(client, csv_bytes(CLEAN, "utf-8"), "r.csv", "submit", None)
    assert resp.status_code == 400
    assert counts(app)["Person"] == 0

    guard = app.test_client()
    login(guard, make, "guard")
    assert guard.get("/office/roster").status_code == 403
    resp = post_roster(guard, csv_bytes(CLEAN, "utf-8"), "r.csv", "submit",
                       csrf_token(guard, "/office/scans"))
    assert resp.status_code == 403
    assert guard.get("/office/roster/export.csv").status_code == 403
    assert counts(app)["Person"] == 0


def test_office_downloads(app, make, client, runner, tmp_path):
    assert run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN, "utf-8")).exit_code == 0
    login(client, make, "office")
    resp = client.get("/office/roster/export.xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0].values)
    assert list(rows[0]) == HEADER and len(rows) == 1 + 4 + 3
    assert ("人员", "3号楼", "2单元", "301", "张三丰", "13912345678") == rows[1][:6]
    resp = client.get("/office/roster/export.csv")
    assert resp.data.startswith(b"\xef\xbb\xbf") and "李四".encode() in resp.data
    resp = client.get("/office/roster/template.csv")
    assert resp.data.decode("utf-8-sig").splitlines() == [",".join(HEADER)]
    assert client.get("/office/roster/export.pdf").status_code == 404


def test_same_person_twice_in_the_file_is_reported(app, runner, tmp_path):
    child = ["人员", "5号楼", "1单元", "102", "小明", "", "居民", "", "", "", "", ""]
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(CLEAN + [child], "utf-8"),
                        "--dry-run")
    assert result.exit_code != 0
    assert f"第{len(CLEAN) + 2}行: 与第5行是同一人 (DUPLICATE_PERSON" in result.output


# -- files that must be refused clearly, never with a server error ------------------

@pytest.mark.both_databases
def test_a_nul_byte_in_a_field_is_a_row_error(app, make, client, runner, tmp_path):
    """PostgreSQL cannot store NUL in text: the office gets the line, not a 500."""
    rows = [CLEAN[2][:4] + ["王\x00环卫"] + CLEAN[2][5:]]
    result = run_import(runner, tmp_path, "r.csv", csv_bytes(rows, "utf-8"))
    assert result.exit_code == 1, result.output
    assert "第2行 姓名: " in result.output and "BAD_CHARACTER" in result.output
    assert counts(app)["Person"] == 0

    login(client, make, "office")
    rows = [CLEAN[2][:8] + ["区环卫所\x00"] + CLEAN[2][9:]]  # (XML, so .xlsx, cannot hold NUL)
    resp = post_roster(client, csv_bytes(rows, "gbk"), "r.csv", "submit",
                       csrf_token(client, "/office/roster"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<td>2</td><td>工作单位</td>" in html
    assert counts(app)["Person"] == 0


def _utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


UNREADABLE = {
    # a field over csv's 128 KB limit
    "huge-field": (",".join(HEADER[:6]) + "\r\n人员,3号楼,2单元,301,\"" + "长" * 140_000 + "\",\r\n")
    .encode("utf-8"),
    # Excel's "Unicode text" cut short: an odd number of bytes
    "odd-utf16": _utf16("\t".join(HEADER[:6]) + "\r\n人员\t3号楼\t2单元\t301\t张三\t") + b"1",
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_csv_is_a_clear_file_error(app, make, client, runner, tmp_path, case):
    result = run_import(runner, tmp_path, "r.csv", UNREADABLE[case])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "Error: " in result.output and ("UTF-16" in result.output or "128 KB" in result.output)

    login(client, make, "office")
    resp = post_roster(client, UNREADABLE[case], "r.csv", "preview",
                       csrf_token(client, "/office/roster"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'class="flash error"' in html
    assert "UTF-16" in html or "128 KB" in html
    assert counts(app)["Person"] == 0


def test_a_lone_surrogate_is_a_row_error(app, make, client, runner, tmp_path):
    """UTF-16 with half a surrogate pair (a cut emoji): the office is told which cell."""
    data = (_utf16("\t".join(HEADER[:6]) + "\r\n人员\t\t\t\t王") + "\ud83d".encode("utf-16-le", "surrogatepass")
            + "环卫\t13700001111\r\n".encode("utf-16-le"))
    result = run_import(runner, tmp_path, "r.txt", data)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "第2行 姓名: " in result.output and "BAD_CHARACTER" in result.output

    login(client, make, "office")
    resp = post_roster(client, data, "r.csv", "submit", csrf_token(client, "/office/roster"))
    assert resp.status_code == 200 and "<td>2</td><td>姓名</td>" in resp.get_data(as_text=True)
    assert counts(app)["Person"] == 0


def _xlsx_with_sheet(sheet_xml_chunks) -> bytes:
    """A minimal .xlsx whose one sheet is written from chunks (so a test can inflate it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   '</Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/workbook.xml",
                   '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                   '<sheets><sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for chunk in sheet_xml_chunks:
                f.write(chunk)
    return out.getvalue()


def _inline_row(values) -> str:
    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values) + "</row>"


def _sheet(rows: int, row_xml: str):
    yield b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    yield _inline_row(HEADER).encode()
    block = (row_xml * 1000).encode()
    for _ in range(rows // 1000):
        yield block
    yield b"</sheetData></worksheet>"


BOMB_CHECK = r"""
import sys, tracemalloc
sys.path.insert(0, "tests")
from pathlib import Path
from app import create_app
from app.services import roster
from gatepass.tokens import KeyRing
tmp = Path(sys.argv[2])
KeyRing.create_key(tmp / "keys", "k1")
app = create_app({"TESTING": True, "SECRET_KEY": "x", "KEYS_DIR": str(tmp / "keys"),
                  "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bomb.db'}"})
data = Path(sys.argv[1]).read_bytes()
with app.app_context():
    from app.extensions import db
    db.create_all()
    tracemalloc.start()
    try:
        roster.import_roster(data, "bomb.xlsx", dry_run=True)
        print("IMPORTED")
    except roster.RosterFileError as err:
        print(err.code)
    print("PEAK", tracemalloc.get_traced_memory()[1])
"""


def test_an_xlsx_that_inflates_to_20_mb_is_refused_in_little_memory(tmp_path):
    """79 KB on the wire, 20 MB of sheet: stop at the row limit instead of loading it all."""
    row = _inline_row(["人员", "3号楼", "2单元", "301", "张三", "13912345678"])
    data = _xlsx_with_sheet(_sheet(20_000_000 // len(row), row))
    assert len(data) < 400_000
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 19_000_000
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-c", BOMB_CHECK, str(path), str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    code, peak = out.stdout.split()[-3], int(out.stdout.split()[-1])
    assert code == "TOO_MANY_ROWS"
    assert peak < 60_000_000, f"peak {peak / 1e6:.0f} MB"  # loading it whole took ~470 MB


def test_an_xlsx_whose_sheet_inflates_past_the_limit_is_refused_before_reading(app, runner,
                                                                                 tmp_path):
    row = _inline_row(["人员"] * 40)
    data = _xlsx_with_sheet(_sheet(40_000_000 // len(row), row))
    result = run_import(runner, tmp_path, "bomb.xlsx", data)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "MB" in result.output and "Error: " in result.output


def test_after_a_preview_the_same_file_imports_without_picking_it_again(app, make, client):
    """Issue 17 §4: the preview keeps the file (owner-only, a day at most); the import's
    result links to printing the new cards and exporting their phone links."""
    import os
    import re
    login(client, make, "office")
    token = csrf_token(client, "/office/roster")
    resp = post_roster(client, csv_bytes(CLEAN, "utf-8"), "名册.csv", "preview", token,
                       create_buildings="y", issue_passes="y")
    html = resp.get_data(as_text=True)
    staged = re.search(r'name="staged" value="([^"]+)"', html).group(1)
    path = os.path.join(app.instance_path, "roster-staged", staged)
    assert os.stat(path).st_mode & 0o777 == 0o600 and counts(app)["Person"] == 0
    form = {"csrf_token": token, "staged": staged, "filename": "名册.csv", "submit": "1",
            "create_buildings": "y", "issue_passes": "y"}  # what the page's button sends: no file
    html = client.post("/office/roster", data=form).get_data(as_text=True)
    assert "导入完成" in html and counts(app)["Person"] == 4 and not os.path.exists(path)
    printing = re.search(r'href="(/office/print\?since=[^"]+)"', html).group(1)
    assert 'value="' + printing.split("=")[1] + '"' in client.get(printing).get_data(as_text=True)
    links = re.search(r'href="(/office/links.csv\?since=[^"]+)"', html).group(1)
    rows = client.get(links).get_data(as_text=True).strip().splitlines()
    assert len(rows) == 1 + counts(app)["Person"]  # the header and each new person's card
    # a staged id that is not one, or is gone, imports nothing
    assert "导入完成" not in client.post("/office/roster", data={**form, "staged": "../../etc"}).get_data(as_text=True)
