"""Tables the office takes away: CSV that Excel opens in Chinese, and XLSX.

Excel guesses a CSV's encoding from a BOM and nothing else, so every CSV here
starts with one. A cell starting with = + - @ is a formula to Excel: a forged
QR code read at a gate ends up in the scan log, so such cells are prefixed
with an apostrophe rather than handed to a spreadsheet to run. XML (and so
XLSX) cannot hold most control characters, which a forged QR or a typed note
may carry: in an XLSX they are written as visible ``\\x07`` escapes.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Building, Gate, Household, Pass, Person, Scan, Vehicle
from gatepass.categories import label, mask_name
from gatepass.wire import pass_code
from gatepass.disclosure import FULL, Disclosure

BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
#: What XML 1.0 cannot carry (openpyxl refuses the cell): C0 controls but tab, CR, LF,
#: lone surrogates and the two non-characters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def xlsx_safe(value):
    """``safe`` for a spreadsheet cell, and what XML cannot hold escaped as ``\\xNN``."""
    value = safe(value)
    if isinstance(value, str) and _NOT_XML.search(value):
        return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def iter_csv(headers: list[str], rows: Iterable[list], chunk: int = 500) -> Iterator[str]:
    """CSV text in pieces, BOM first: a long scan log streams instead of piling up."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write(BOM)
    writer.writerow(headers)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else safe(v) for v in row])
        if n % chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def table_csv(headers: list[str], rows: Iterable[list]) -> bytes:
    return "".join(iter_csv(headers, rows)).encode("utf-8")


def table_xlsx(headers: list[str], rows: Iterable[list], title: str = "Sheet1",
               widths: list[int] | None = None, text_columns: Iterable[int] = (),
               choices: dict[int, list[str]] | None = None,
               notes: list[list[str]] | None = None,
               formats: dict[int, str] | None = None) -> bytes:
    """One sheet, header frozen; text columns stay text when the office types
    into them (an 18-digit ID number typed into a number cell loses digits)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    text_columns = list(text_columns)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    for i, width in enumerate(widths or []):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    for i in text_columns:
        ws.column_dimensions[get_column_letter(i + 1)].number_format = "@"
    for i, values in (choices or {}).items():
        col = get_column_letter(i + 1)
        dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        dv.add(f"{col}2:{col}5000")
        ws.data_validations.append(dv)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE5EE")
    header = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=h)
        cell.font, cell.fill = bold, fill
        header.append(cell)
    ws.append(header)
    styles = {i: "@" for i in text_columns} | (formats or {})
    for n, row in enumerate(rows, 1):
        if n > XLSX_MAX_ROWS:
            break
        out = [xlsx_safe(v) for v in row]
        for i, number_format in styles.items():  # plain values elsewhere: much faster
            if i < len(out):
                out[i] = WriteOnlyCell(ws, value=out[i])
                out[i].number_format = number_format
        ws.append(out)
    if notes:
        ns = wb.create_sheet("说明")
        ns.column_dimensions["A"].width = 24
        ns.column_dimensions["B"].width = 100
        for row in notes:
            ns.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the scan log ------------------------------------------------------------

SCAN_HEADERS = {
    "zh": ["时间", "门岗", "方向", "通行证编号", "持证人", "类别", "住址", "结果", "原因代码",
           "原因", "体温", "原始内容", "离线", "离线时门岗判定"],
    "en": ["time", "gate", "direction", "pass", "holder", "category", "address", "verdict",
           "reason code", "reason", "temperature", "raw text", "offline", "gate's offline verdict"],
}
_TIME_COLUMN = 0


def _holders(pass_ids: set[int], lang: str, view: Disclosure) -> dict[int, tuple]:
    """(code, name as ``view`` may see it, category, address) per pass: a busy gate's log
    names the same few thousand holders over and over, so each is loaded once, as plain
    columns (building ORM objects for them was most of an export's time, issue 18). A
    person's home and a vehicle's are joined apart, each by primary key: one join on
    ``coalesce(...)`` made PostgreSQL compare every pass with every household."""
    home_p, home_v = aliased(Household), aliased(Household)
    building_p, building_v = aliased(Building), aliased(Building)
    rows = db.session.execute(
        db.select(Pass.id, Pass.serial, Pass.category, Person.name, Vehicle.plate,
                  func.coalesce(building_p.name, building_v.name),
                  func.coalesce(home_p.unit, home_v.unit), func.coalesce(home_p.room, home_v.room))
        .outerjoin(Person, Pass.person_id == Person.id)
        .outerjoin(home_p, Person.household_id == home_p.id)
        .outerjoin(building_p, home_p.building_id == building_p.id)
        .outerjoin(Vehicle, Pass.vehicle_id == Vehicle.id)
        .outerjoin(home_v, Vehicle.household_id == home_v.id)
        .outerjoin(building_v, home_v.building_id == building_v.id)
        .where(Pass.id.in_(pass_ids)))
    out = {}
    for pid, serial, category, name, plate, building, unit, room in rows:
        shown = view.name(name, mask_name(name)) if name is not None else plate
        out[pid] = (pass_code(pid, serial), shown, label(category, lang),
                    f"{building}{unit}{room}" if building is not None else "")
    return out


#: The scan columns an export reads (rows, not ORM objects).
_SCAN_COLUMNS = (Scan.scanned_at, Scan.gate_id, Scan.direction, Scan.pass_id, Scan.allowed,
                 Scan.reason, Scan.temperature, Scan.raw_text, Scan.offline_reason)


def scan_rows(stmt, tz: ZoneInfo, lang: str = "zh", local_text: bool = True,
              view: Disclosure = FULL) -> Iterator[list]:
    """Rows for ``stmt`` (from ``services.scanlog.scan_query``), local time.

    ``view`` (``gatepass.disclosure``): what the reader may see. Temperatures and health
    reasons (the gate's offline verdict too) are health staff's; the office and guards
    get the neutral reason and no raw text for such a row, guards masked names.
    The raw text of an allowed scan is a working pass token: it is left out,
    only what a failed scan read is kept, to see what people hold up.
    """
    en = lang == "en"
    yes, no = ("yes", "no") if en else ("是", "否")
    gates = dict(db.session.execute(db.select(Gate.id, Gate.name)).all())
    holders: dict[int, tuple] = {}
    no_holder = ("", "", "", "")
    # Holders and gates come from the caches above, never one query per scan.
    stmt = stmt.with_only_columns(*_SCAN_COLUMNS).execution_options(yield_per=2000)
    for batch in db.session.execute(stmt).partitions():
        wanted = {s.pass_id for s in batch if s.pass_id and s.pass_id not in holders}
        if wanted:
            holders.update(_holders(wanted, lang, view))
        for s in batch:
            code, name, category, address = holders.get(s.pass_id, no_holder)
            at = s.scanned_at.astimezone(tz)
            reason = view.reason(s.reason)
            yield [
                at.strftime("%Y-%m-%d %H:%M:%S") if local_text
                else at.replace(tzinfo=None, microsecond=0),
                gates.get(s.gate_id, ""),
                s.direction if en else {"in": "进", "out": "出"}.get(s.direction, s.direction),
                code, name, category, address,
                ("allowed" if s.allowed else "denied") if en else ("通过" if s.allowed else "拒绝"),
                reason,
                view.reason_text(s.reason, lang),
                view.temperature(s.temperature),
                "" if s.allowed or view.hides(s.reason) else s.raw_text,
                yes if s.offline_reason else no,
                view.reason(s.offline_reason) or "",
            ]


def scans_csv(stmt, tz: ZoneInfo, lang: str = "zh", view: Disclosure = FULL) -> Iterator[str]:
    return iter_csv(SCAN_HEADERS[lang], scan_rows(stmt, tz, lang, view=view))


def scans_xlsx(stmt, tz: ZoneInfo, lang: str = "zh", view: Disclosure = FULL) -> bytes:
    return table_xlsx(SCAN_HEADERS[lang], scan_rows(stmt, tz, lang, local_text=False,
                                                    view=view),
                      title="通行记录" if lang == "zh" else "scans",
                      widths=[20, 8, 6, 12, 12, 10, 16, 8, 16, 26, 8, 30, 6, 14],
                      formats={_TIME_COLUMN: "yyyy-mm-dd hh:mm:ss"})


def export_name(prefix: str, ext: str, now: datetime | None = None) -> str:
    """``scans-20261202-0734.csv``: stamped in the community's local time, like the rows inside
    (the server's clock is usually UTC, which named a file of 12-02 rows ``-20261201-2334``)."""
    from ..config import community_tz
    local = (now or datetime.now(timezone.utc)).astimezone(community_tz())
    return f"{prefix}-{local:%Y%m%d-%H%M}.{ext}"
