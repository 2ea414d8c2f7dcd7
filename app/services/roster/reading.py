"""Reading a roster file: CSV in whatever encoding Excel or WPS saved, or .xlsx.

Every way a file can be unreadable ends in a ``RosterFileError`` with a code
and both languages, never in a server error: a cut UTF-16 file, a CSV cell over
the csv module's 128 KB limit, an .xlsx whose sheet inflates far beyond what a
roster needs. An .xlsx is read streaming (openpyxl's read-only mode) after its
uncompressed sizes are checked, and reading stops at the row limit, so a small
upload cannot make the server build a huge sheet in memory.
"""
from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Iterable, Iterator

from ...common.errors import ServiceError
from .columns import ALIASES, header_key

MAX_ROWS = 20000
#: Lines read at most (blank ones included): formatting can leave many blank rows.
MAX_LINES = 5 * MAX_ROWS
#: Columns read at most; a roster has twelve, offices add a few of their own.
MAX_COLUMNS = 64
#: Uncompressed sizes an .xlsx may declare: 20,000 rows need about 15 MB of sheet.
MAX_SHEET_BYTES = 32 * 1024 * 1024
MAX_XLSX_BYTES = 64 * 1024 * 1024
_MB = 1024 * 1024


class RosterFileError(ServiceError):
    """The file as a whole cannot be read (no header, wrong format...)."""


@dataclass
class Sheet:
    rows: list[tuple[int, dict]]  # (line, {column key: raw cell})
    ignored_columns: list[str]


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM, UTF-16 (Excel's "Unicode text"), else GB18030 (GBK).

    A lone surrogate in UTF-16 is kept (``surrogatepass``) so the row check can
    name the cell it is in; a UTF-16 file cut in the middle of a character is refused.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if len(data) % 2:
            raise RosterFileError("TRUNCATED_FILE", "UTF-16 文件不完整（字节数为奇数），请重新保存后再导入",
                                  "the UTF-16 file is cut short (an odd number of bytes): "
                                  "save it again")
        return data.decode("utf-16", errors="surrogatepass")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise RosterFileError("UNKNOWN_ENCODING", "无法识别文件编码，请在 Excel 中另存为“CSV UTF-8”或 .xlsx",
                              "unknown text encoding: save as CSV UTF-8 or .xlsx") from None


def _csv_cells(data: bytes) -> Iterator[list]:
    text = decode_text(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=max(",\t;", key=first.count))
    try:
        yield from reader
    except csv.Error as err:
        limit = csv.field_size_limit() // 1024
        raise RosterFileError(
            "BAD_CSV", f"CSV 文件第{reader.line_num}行无法读取（单元格超过 {limit} KB 或引号不成对）",
            f"line {reader.line_num} of the CSV cannot be read (a cell over {limit} KB "
            f"or an unclosed quote): {err}") from None


def _check_xlsx_sizes(data: bytes) -> None:
    """Refuse an .xlsx whose parts would inflate beyond a roster's size, before reading it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise _not_xlsx() from None
    sheet = max((p.file_size for p in parts), default=0)
    total = sum(p.file_size for p in parts)
    if sheet > MAX_SHEET_BYTES or total > MAX_XLSX_BYTES:
        raise RosterFileError(
            "FILE_TOO_LARGE", f"Excel 文件解压后有 {total // _MB} MB，超过名册的上限 "
            f"{MAX_XLSX_BYTES // _MB} MB（单个表格 {MAX_SHEET_BYTES // _MB} MB），请分批导入",
            f"the Excel file inflates to {total // _MB} MB, more than a roster's "
            f"{MAX_XLSX_BYTES // _MB} MB ({MAX_SHEET_BYTES // _MB} MB a sheet): import in parts")


def _not_xlsx() -> RosterFileError:
    return RosterFileError("BAD_XLSX", "无法打开该 Excel 文件，请确认是 .xlsx 格式",
                           "cannot open this Excel file: is it .xlsx?")


def _xlsx_cells(data: bytes) -> Iterator[list]:
    from openpyxl import load_workbook
    _check_xlsx_sizes(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb["名册"] if "名册" in wb.sheetnames else wb.worksheets[0]
    except Exception:
        raise _not_xlsx() from None
    try:
        for row in ws.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True):
            yield list(row)
    except Exception:
        raise _not_xlsx() from None
    finally:
        wb.close()


def cell_text(value) -> str:
    """A cell as the office sees it: numbers without ``.0``, dates as ISO, NFKC, trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        value = value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).replace("\u200b", "").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]  # our own exports guard against spreadsheet formulas
    return text


def _too_many_rows() -> RosterFileError:
    return RosterFileError("TOO_MANY_ROWS", f"文件超过 {MAX_ROWS} 行，请分批导入",
                           f"more than {MAX_ROWS} rows: import in parts")


def _header(cells: Iterator[list]) -> tuple[int, list]:
    """The header row (a title line may sit above it) and its index."""
    for i, row in enumerate(islice(cells, 10)):
        if sum(header_key(c) in ALIASES for c in row) >= 2:
            return i, row
    raise RosterFileError("NO_HEADER", "找不到表头：第一行应为 类型、楼栋、单元、房号、姓名、手机号……",
                          "no header row found: expected 类型/楼栋/.../姓名/手机号 "
                          "or type/building/unit/room/name/phone...")


def _positions(header: Iterable) -> tuple[dict[str, int], list[str]]:
    positions, ignored = {}, []
    for i, cell in enumerate(header):
        key = ALIASES.get(header_key(cell))
        if key and key not in positions:
            positions[key] = i
        elif str(cell or "").strip():
            ignored.append(str(cell).strip())
    if "name" not in positions and "plate" not in positions:
        raise RosterFileError("NO_NAME_COLUMN", "表头中既没有“姓名”也没有“车牌号”",
                              "the header has neither 姓名 (name) nor 车牌号 (plate)")
    return positions, ignored


def parse(data: bytes, filename: str) -> Sheet:
    """Rows of a CSV or XLSX roster, numbered as Excel shows them."""
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError("OLD_XLS", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV",
                              "old .xls files are not supported: save as .xlsx or CSV")
    is_xlsx = data.startswith(b"PK") or name.endswith((".xlsx", ".xlsm"))
    cells = iter(_xlsx_cells(data) if is_xlsx else _csv_cells(data))
    header_at, header = _header(cells)
    positions, ignored = _positions(header)
    rows = []
    for line, row in enumerate(cells, start=header_at + 2):
        if line > MAX_LINES:
            raise _too_many_rows()
        values = {k: row[i] if i < len(row) else None for k, i in positions.items()}
        if any(cell_text(v) for v in values.values()):
            rows.append((line, values))
            if len(rows) > MAX_ROWS:
                raise _too_many_rows()
    return Sheet(rows=rows, ignored_columns=ignored)
