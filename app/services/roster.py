"""The office's roster (名册): one sheet, one row per person or per vehicle.

Offices keep their roster in Excel and pass it around as .xlsx or as CSV saved
by whichever Excel or WPS they have (UTF-8 with or without BOM, GBK). This
module reads such a file, checks every row against the rest of the file and
the database, then writes all rows or none: an office fixing line 37 must not
find lines 2-36 imported already. Matching makes re-importing the same sheet
an update, never a second copy: people by phone, else by name within the
household; vehicles by plate. ID-card numbers are masked the moment a row is
read; the full number is kept nowhere, not even in an error message.

No Flask request code here: the ``roster`` CLI and the office page share it.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Building, Household, Person, Vehicle
from gatepass.categories import (CATEGORIES, HOUSEHOLD_CATEGORIES, PERSON_CATEGORIES, label,
                                 mask_id_card, mask_name)
from gatepass.status import PassStatus
from . import exports
from .issuing import issue_passes_to_new_holders

MAX_ROWS = 20000


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as written in exports and the template
    short: str  # as named in error messages
    en: str
    aliases: tuple[str, ...]


COLUMNS = (
    Column("kind", "类型(人员/车辆)", "类型", "type", ("类型", "type", "kind")),
    Column("building", "楼栋", "楼栋", "building", ("楼栋", "楼号", "楼", "栋", "building")),
    Column("unit", "单元", "单元", "unit", ("单元", "单元号", "unit")),
    Column("room", "房号", "房号", "room", ("房号", "房间号", "门牌号", "室", "room")),
    Column("name", "姓名", "姓名", "name", ("姓名", "名字", "车主", "车主姓名", "name", "owner")),
    Column("phone", "手机号", "手机号", "phone",
           ("手机号", "手机", "手机号码", "联系电话", "电话", "车主手机号", "phone", "mobile")),
    Column("category", "类别(居民/租户/环卫/工作人员/快递外卖/其他)", "类别", "category",
           ("类别", "人员类别", "category")),
    Column("id_card", "身份证号", "身份证号", "ID number",
           ("身份证号", "身份证", "身份证号码", "id card", "id number")),
    Column("employer", "工作单位", "工作单位", "employer",
           ("工作单位", "单位", "employer", "workplace")),
    Column("returnee", "返乡人员(是/否)", "返乡人员", "returnee", ("返乡人员", "返乡", "returnee")),
    Column("plate", "车牌号", "车牌号", "plate", ("车牌号", "车牌", "plate", "license plate")),
    Column("vehicle_kind", "车辆类型(本小区/外来)", "车辆类型", "vehicle type",
           ("车辆类型", "vehicle type", "vehicle kind")),
)
BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = [c.header for c in COLUMNS]
MAX_LEN = {"building": 40, "unit": 20, "room": 20, "name": 60, "employer": 60}

KINDS = {"人员": "person", "人": "person", "person": "person", "people": "person",
         "车辆": "vehicle", "车": "vehicle", "vehicle": "vehicle", "car": "vehicle"}
CATEGORY_WORDS = {**{zh: code for code, (zh, _en, _c) in CATEGORIES.items()},
                  **{en.lower(): code for code, (_zh, en, _c) in CATEGORIES.items()},
                  **{code: code for code in CATEGORIES},
                  "业主": "resident", "快递": "courier", "外卖": "courier", "保洁": "sanitation",
                  "物业": "staff"}
YES_NO = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False,
          "true": True, "false": False, "1": True, "0": False, "√": True, "×": False}
VEHICLE_KINDS = {"本小区": "own", "本小区车辆": "own", "业主": "own", "own": "own",
                 "外来": "outside", "外来车辆": "outside", "outside": "outside",
                 "visitor": "outside"}

PHONE_RE = re.compile(r"1[3-9]\d{9}")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters: no I, no O
PLATE_RE = re.compile(
    rf"[{_PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{4}}[{_L}0-9挂学警港澳]"  # ordinary: 京A12345, 粤B1234学
    rf"|[DF][{_L}0-9]\d{{4}}|\d{{5}}[DF])")  # new energy: 京AD12345, 京A12345F
ID_RE = re.compile(r"\d{17}[\dX]")
MASKED_ID_RE = re.compile(r"\d{4}\*+[\dX]{4}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class RosterFileError(ValueError):
    """The file as a whole cannot be read (no header, wrong format...)."""

    def __init__(self, message: str, message_en: str):
        super().__init__(message)
        self.message, self.message_en = message, message_en


# message id -> (code, Chinese, English); codes are stable, texts may change.
MESSAGES = {
    "missing": ("MISSING_FIELD", "{field}不能为空", "{field_en} is empty"),
    "needs_address": ("MISSING_FIELD", "居民/租户必须填写楼栋和房号",
                      "residents and tenants need a building and a room"),
    "bad_type": ("BAD_TYPE", "类型“{value}”无效，应为 人员 或 车辆",
                 "type {value!r} is invalid: use 人员 (person) or 车辆 (vehicle)"),
    "unknown_building": ("UNKNOWN_BUILDING",
                         "楼栋“{value}”不存在；如确是新楼栋，请勾选“允许新建楼栋”后再导入",
                         "unknown building {value!r}; allow new buildings "
                         "(--create-buildings) if it really is new"),
    "bad_phone": ("BAD_PHONE", "手机号“{value}”不是11位手机号",
                  "{value!r} is not an 11-digit mobile number"),
    "dup_phone": ("DUPLICATE_PHONE", "手机号与第{other}行重复", "phone repeats line {other}"),
    "phone_taken": ("DUPLICATE_PHONE", "手机号已登记给 {holder}", "phone already belongs to {holder}"),
    "dup_person": ("DUPLICATE_PERSON", "与第{other}行是同一人", "same person as line {other}"),
    "bad_plate": ("BAD_PLATE", "车牌号“{value}”格式不正确（例：京A12345，新能源 京AD12345）",
                  "plate {value!r} is not a Chinese plate (e.g. 京A12345, 京AD12345)"),
    "dup_plate": ("DUPLICATE_PLATE", "车牌号与第{other}行重复", "plate repeats line {other}"),
    "bad_category": ("BAD_CATEGORY", "类别“{value}”无效，应为 居民/租户/环卫/工作人员/快递外卖/其他",
                     "category {value!r} is invalid: use 居民/租户/环卫/工作人员/快递外卖/其他 "
                     "or resident/tenant/sanitation/staff/courier/other"),
    "bad_id": ("BAD_ID_CARD", "身份证号格式不正确（应为18位，末位可为X）",
               "ID number must have 18 characters, the last may be X"),
    "id_checksum": ("BAD_ID_CARD", "身份证号校验位不符，请核对", "ID number check digit does not match"),
    "id_number": ("BAD_ID_CARD", "身份证号被Excel存成了数字，后几位已丢失；请把该列设为“文本”后重新填写",
                  "Excel stored the ID number as a number and lost its last digits; "
                  "format the column as text and type it again"),
    "bad_value": ("BAD_VALUE", "“{value}”无效，应为 {allowed}", "{value!r} is invalid: use {allowed}"),
    "too_long": ("TOO_LONG", "{field}超过{limit}个字", "{field_en} is longer than {limit} characters"),
    "unknown_owner": ("UNKNOWN_OWNER", "车主手机号“{value}”未登记，请先登记该人员",
                      "no person has the owner's phone {value}"),
}


@dataclass
class RowError:
    line: int  # as Excel shows it: the header is line 1
    field: str  # column as the office names it, "" for the whole row
    code: str
    message: str
    message_en: str

    def __str__(self) -> str:
        where = f"第{self.line}行" + (f" {self.field}" if self.field else "")
        return f"{where}: {self.message} ({self.code}: {self.message_en})"


@dataclass
class Sheet:
    rows: list[tuple[int, dict]]  # (line, {column key: raw cell})
    header_line: int
    ignored_columns: list[str]


@dataclass
class Record:
    """One holder as the file wants it; None means "blank: keep what is stored"."""

    line: int
    kind: str  # person | vehicle
    address: tuple[str, str, str] | None = None  # (building, unit, room)
    name: str = ""
    phone: str | None = None
    category: str | None = None
    id_card: str | None = None  # masked
    employer: str | None = None
    returnee: bool | None = None
    plate: str = ""
    vehicle_kind: str | None = None
    owner_phone: str | None = None
    owner_line: int | None = None  # the person row this vehicle came with
    match_id: int | None = None


@dataclass
class Summary:
    buildings_created: list[str] = field(default_factory=list)
    households_created: int = 0
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0
    vehicles_created: int = 0
    vehicles_updated: int = 0
    vehicles_unchanged: int = 0
    passes_issued: int = 0
    passes_recategorised: int = 0


@dataclass
class ImportResult:
    rows: int
    errors: list[RowError]
    ignored_columns: list[str]
    summary: Summary | None
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


# -- reading a file --------------------------------------------------------

def _header_key(text) -> str:
    t = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    t = re.sub(r"[(\[].*?[)\]]", "", t)  # "类型(人员/车辆)" -> "类型"
    return re.sub(r"[\s_]+", " ", t).strip()


_ALIASES = {_header_key(a): c.key for c in COLUMNS for a in (c.header, *c.aliases)}


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM, UTF-16 (Excel's "Unicode text"), else GB18030 (GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise RosterFileError("无法识别文件编码，请在 Excel 中另存为“CSV UTF-8”或 .xlsx",
                              "unknown text encoding: save as CSV UTF-8 or .xlsx") from None


def _csv_cells(data: bytes) -> list[list]:
    text = decode_text(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(",\t;", key=first.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_cells(data: bytes) -> list[list]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception:
        raise RosterFileError("无法打开该 Excel 文件，请确认是 .xlsx 格式",
                              "cannot open this Excel file: is it .xlsx?") from None
    ws = wb["名册"] if "名册" in wb.sheetnames else wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]


def parse(data: bytes, filename: str) -> Sheet:
    """Rows of a CSV or XLSX roster, numbered as Excel shows them."""
    name = (filename or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV",
                              "old .xls files are not supported: save as .xlsx or CSV")
    if data.startswith(b"PK") or name.endswith((".xlsx", ".xlsm")):
        cells = _xlsx_cells(data)
    else:
        cells = _csv_cells(data)
    header_at = None
    for i, row in enumerate(cells[:10]):  # a title line may sit above the header
        if sum(_header_key(c) in _ALIASES for c in row) >= 2:
            header_at = i
            break
    if header_at is None:
        raise RosterFileError("找不到表头：第一行应为 类型、楼栋、单元、房号、姓名、手机号……",
                              "no header row found: expected 类型/楼栋/.../姓名/手机号 "
                              "or type/building/unit/room/name/phone...")
    positions, ignored = {}, []
    for i, cell in enumerate(cells[header_at]):
        key = _ALIASES.get(_header_key(cell))
        if key and key not in positions:
            positions[key] = i
        elif str(cell or "").strip():
            ignored.append(str(cell).strip())
    if "name" not in positions and "plate" not in positions:
        raise RosterFileError("表头中既没有“姓名”也没有“车牌号”", "the header has neither 姓名 (name) "
                              "nor 车牌号 (plate)")
    rows = []
    for line, row in enumerate(cells[header_at + 1:], start=header_at + 2):
        values = {k: row[i] if i < len(row) else None for k, i in positions.items()}
        if any(_text(v) for v in values.values()):
            rows.append((line, values))
    if len(rows) > MAX_ROWS:
        raise RosterFileError(f"文件超过 {MAX_ROWS} 行，请分批导入",
                              f"more than {MAX_ROWS} rows: import in parts")
    return Sheet(rows=rows, header_line=header_at + 1, ignored_columns=ignored)


def _text(value) -> str:
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


# -- checking rows ---------------------------------------------------------

def normalise_phone(text: str) -> str:
    p = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086", "86"):
        if p.startswith(prefix) and len(p) == 11 + len(prefix):
            p = p[len(prefix):]
    return p


def normalise_plate(text: str) -> str:
    return re.sub(r"[\s·•・.\-]", "", text).upper()


def id_checksum_ok(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return "10X98765432"[total % 11] == number[17]


def _building_name(raw: str, existing: set[str]) -> str:
    """3, 3号楼, 3栋 name the same building as the database spells it."""
    m = re.fullmatch(r"(\d+)(号楼|号|栋|幢|楼)?", raw)
    if not m:
        return raw
    for suffix in ("号楼", "栋", "幢", "号", "楼", ""):
        if m.group(1) + suffix in existing:
            return m.group(1) + suffix
    return raw if m.group(2) else m.group(1) + "号楼"


class _Checker:
    """Holds what the database knows while the rows are checked."""

    def __init__(self, create_buildings: bool):
        self.errors: list[RowError] = []
        self.buildings = set(db.session.scalars(db.select(Building.name)))
        self.may_create = create_buildings or not self.buildings  # first import builds them
        self.new_buildings: dict[str, None] = {}  # in the order the file names them
        self.households: dict[tuple, int] = {}
        self.addresses: dict[int, str] = {}
        for h in db.session.scalars(db.select(Household).options(joinedload(Household.building))):
            self.households[(h.building.name, h.unit, h.room)] = h.id
            self.addresses[h.id] = h.address
        self.by_phone: dict[str, tuple] = {}
        self.by_name: dict[tuple, tuple] = {}
        for row in db.session.execute(db.select(Person.id, Person.name, Person.phone,
                                                Person.household_id)):
            if row.phone:
                self.by_phone[row.phone] = row
            self.by_name.setdefault((row.name, row.household_id), row)
        self.plates = dict(db.session.execute(db.select(Vehicle.plate, Vehicle.id)).all())

    def error(self, line: int, key: str, msg: str, **kw) -> None:
        code, zh, en = MESSAGES[msg]
        col = BY_KEY.get(key)
        kw.setdefault("field", col.short if col else "")
        kw.setdefault("field_en", col.en if col else "")
        self.errors.append(RowError(line, col.short if col else "", code,
                                    zh.format(**kw), en.format(**kw)))

    def record(self, line: int, raw: dict) -> list[Record]:
        v = {k: _text(raw.get(k)) for k in BY_KEY}
        before = len(self.errors)
        for key, limit in MAX_LEN.items():
            if len(v[key]) > limit:
                self.error(line, key, "too_long", limit=limit)
        kind = KINDS.get(v["kind"].lower())
        if v["kind"] and kind is None:
            self.error(line, "kind", "bad_type", value=v["kind"])
            return []
        kind = kind or ("vehicle" if v["plate"] and not v["name"] else "person")
        rec = Record(line=line, kind=kind, name=v["name"])
        rec.address = self.address(line, v)
        phone = None
        if v["phone"]:
            phone = normalise_phone(v["phone"])
            if not PHONE_RE.fullmatch(phone):
                self.error(line, "phone", "bad_phone", value=v["phone"])
                phone = None
        plate = ""
        if v["plate"]:
            plate = normalise_plate(v["plate"])
            if not PLATE_RE.fullmatch(plate):
                self.error(line, "plate", "bad_plate", value=v["plate"])
        if v["vehicle_kind"]:
            rec.vehicle_kind = VEHICLE_KINDS.get(v["vehicle_kind"].lower())
            if rec.vehicle_kind is None:
                self.error(line, "vehicle_kind", "bad_value", value=v["vehicle_kind"],
                           allowed="本小区/外来 (own/outside)")
        if kind == "vehicle":
            rec.plate, rec.owner_phone = plate, phone
            if not v["plate"]:
                self.error(line, "plate", "missing")
            return [rec] if len(self.errors) == before else []

        rec.phone = phone
        if not v["name"]:
            self.error(line, "name", "missing")
        if v["category"]:
            rec.category = CATEGORY_WORDS.get(v["category"].lower())
            if rec.category not in PERSON_CATEGORIES:
                self.error(line, "category", "bad_category", value=v["category"])
        rec.id_card = self.id_card(line, raw.get("id_card"), v["id_card"])
        rec.employer = v["employer"] or None
        if v["returnee"]:
            rec.returnee = YES_NO.get(v["returnee"].lower())
            if rec.returnee is None:
                self.error(line, "returnee", "bad_value", value=v["returnee"], allowed="是/否")
        out = [rec]
        if plate:  # a resident's car on the resident's own line
            out.append(Record(line=line, kind="vehicle", address=rec.address, plate=plate,
                              vehicle_kind=rec.vehicle_kind or "own", owner_line=line))
        return out if len(self.errors) == before else []

    def address(self, line: int, v: dict) -> tuple | None:
        building, unit, room = v["building"], v["unit"], v["room"]
        if not (building or unit or room):
            return None
        if not building:
            self.error(line, "building", "missing")
        if not room:
            self.error(line, "room", "missing")
        if not (building and room):
            return None
        name = _building_name(building, self.buildings | set(self.new_buildings))
        if name not in self.buildings and name not in self.new_buildings:
            if not self.may_create:
                self.error(line, "building", "unknown_building", value=building)
                return None
            self.new_buildings[name] = None
        if unit.isdigit():
            unit = f"{unit}单元"
        return name, unit, re.sub(r"(室|号)$", "", room)

    def id_card(self, line: int, raw, text: str) -> str | None:
        if not text:
            return None
        if isinstance(raw, float) or "E+" in text.upper():
            self.error(line, "id_card", "id_number")
            return None
        number = text.upper().replace(" ", "")
        if MASKED_ID_RE.fullmatch(number):
            return number  # from our own export: already masked
        if not ID_RE.fullmatch(number):
            self.error(line, "id_card", "bad_id")
            return None
        if not id_checksum_ok(number):
            self.error(line, "id_card", "id_checksum")
            return None
        return mask_id_card(number)


def check(sheet: Sheet, create_buildings: bool = False
          ) -> tuple[list[Record], list[RowError], dict]:
    """Every bad row with its reason, and the records to write if there are none."""
    c = _Checker(create_buildings)
    records = [r for line, raw in sheet.rows for r in c.record(line, raw)]
    phones: dict[str, int] = {}
    matched: dict[int, int] = {}
    plates: dict[str, int] = {}
    file_phones = {r.phone for r in records if r.kind == "person" and r.phone}
    for r in records:
        if r.kind == "person":
            _match_person(c, r, phones, matched)
        else:
            if r.plate in plates:
                c.error(r.line, "plate", "dup_plate", other=plates[r.plate])
                continue
            plates[r.plate] = r.line
            r.match_id = c.plates.get(r.plate)
            if r.owner_phone and r.owner_phone not in file_phones \
                    and r.owner_phone not in c.by_phone:
                c.error(r.line, "phone", "unknown_owner", value=r.owner_phone)
    c.errors.sort(key=lambda e: e.line)
    return records, c.errors, c.new_buildings


def _match_person(c: _Checker, r: Record, phones: dict, matched: dict) -> None:
    if r.phone:
        if r.phone in phones:
            c.error(r.line, "phone", "dup_phone", other=phones[r.phone])
            return
        phones[r.phone] = r.line
    household_id = c.households.get(r.address) if r.address else None
    hit = c.by_phone.get(r.phone) if r.phone else None
    if hit is not None and hit.name != r.name:
        holder = mask_name(hit.name) + (f"（{c.addresses[hit.household_id]}）"
                                        if hit.household_id else "")
        c.error(r.line, "phone", "phone_taken", holder=holder)
        return
    if hit is None and (r.address is None or household_id):
        hit = c.by_name.get((r.name, household_id))
    # The same stored person twice, or the same new person without phone twice.
    key = hit.id if hit is not None else None if r.phone else (r.name, r.address)
    if key is not None:
        if key in matched:
            c.error(r.line, "", "dup_person", other=matched[key])
            return
        matched[key] = r.line
    if hit is not None:
        r.match_id = hit.id
    category = r.category or "resident"
    has_home = r.address is not None or (hit is not None and hit.household_id)
    if hit is not None and r.category is None:
        return  # keeps its stored category and household
    if category in HOUSEHOLD_CATEGORIES and not has_home:
        c.error(r.line, "building", "needs_address")


# -- writing ---------------------------------------------------------------

def _set(obj, changes: list, **values) -> None:
    for key, value in values.items():
        if value is not None and getattr(obj, key) != value:
            setattr(obj, key, value)
            changes.append(key)


def _load(model, ids: list[int], *options) -> dict:
    """Stored rows by id, a few hundred per query rather than one query per row."""
    out = {}
    for i in range(0, len(ids), 500):
        out.update((o.id, o) for o in db.session.scalars(
            db.select(model).where(model.id.in_(ids[i:i + 500])).options(*options)))
    return out


def apply(records: list[Record], new_buildings, issue_passes: bool = True) -> Summary:
    """Write checked records into the session (the caller commits or rolls back)."""
    s = Summary()
    buildings = {b.name: b for b in db.session.scalars(db.select(Building))}
    for name in new_buildings:
        buildings[name] = Building(name=name)
        db.session.add(buildings[name])
        s.buildings_created.append(name)
    households = {(h.building.name, h.unit, h.room): h for h in db.session.scalars(
        db.select(Household).options(joinedload(Household.building)))}

    def household(address):
        if address is None:
            return None
        if address not in households:
            households[address] = Household(building=buildings[address[0]], unit=address[1],
                                            room=address[2])
            db.session.add(households[address])
            s.households_created += 1
        return households[address]

    new_holders: list = []
    people: dict[int, Person] = {}
    stored = _load(Person, [r.match_id for r in records if r.kind == "person" and r.match_id],
                   selectinload(Person.passes), selectinload(Person.household))
    for r in (r for r in records if r.kind == "person"):
        if r.match_id:
            p = stored[r.match_id]
            changes: list = []
            old_category = p.category
            _set(p, changes, name=r.name, phone=r.phone, category=r.category,
                 id_card_masked=r.id_card, employer=r.employer, is_returnee=r.returnee,
                 household=household(r.address))
            s.people_updated += bool(changes)
            s.people_unchanged += not changes
            if p.category != old_category:
                for ps in p.passes:
                    if ps.status != PassStatus.REVOKED:
                        ps.category = p.category
                        s.passes_recategorised += 1
        else:
            p = Person(name=r.name, phone=r.phone, category=r.category or "resident",
                       id_card_masked=r.id_card or "", employer=r.employer or "",
                       is_returnee=bool(r.returnee), household=household(r.address))
            db.session.add(p)
            new_holders.append(p)
            s.people_created += 1
        people[r.line] = p
    db.session.flush()

    vehicles = [r for r in records if r.kind == "vehicle"]
    stored = _load(Vehicle, [r.match_id for r in vehicles if r.match_id],
                   selectinload(Vehicle.household), selectinload(Vehicle.owner))
    owners = {p.phone: p for p in db.session.scalars(db.select(Person).where(
        Person.phone.in_({r.owner_phone for r in vehicles if r.owner_phone})))}
    for r in vehicles:
        owner = people.get(r.owner_line) if r.owner_line else owners.get(r.owner_phone)
        home = household(r.address) or (owner.household if owner else None)
        if r.match_id:
            v = stored[r.match_id]
            changes = []
            _set(v, changes, kind=r.vehicle_kind, household=home, owner=owner)
            s.vehicles_updated += bool(changes)
            s.vehicles_unchanged += not changes
        else:
            v = Vehicle(plate=r.plate, household=home, owner=owner,
                        kind=r.vehicle_kind or ("own" if home or owner else "outside"))
            db.session.add(v)
            new_holders.append(v)
            s.vehicles_created += 1
    db.session.flush()
    if issue_passes:
        s.passes_issued = len(issue_passes_to_new_holders(new_holders))
        db.session.flush()
    return s


def import_roster(data: bytes, filename: str, *, dry_run: bool = False,
                  create_buildings: bool = False, issue_passes: bool = True) -> ImportResult:
    """Check the whole file, then write every row in one transaction, or nothing.

    A dry run writes, counts and rolls back, so its summary is exactly what a
    real import would do. Raises RosterFileError when the file is unreadable.
    """
    sheet = parse(data, filename)
    records, errors, new_buildings = check(sheet, create_buildings)
    result = ImportResult(rows=len(sheet.rows), errors=errors,
                          ignored_columns=sheet.ignored_columns, summary=None, dry_run=dry_run)
    if errors:
        return result
    try:
        result.summary = apply(records, new_buildings, issue_passes)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RosterFileError("数据库拒绝了本次导入（可能有人同时修改了名册），未写入任何数据，请重试",
                              "the database refused the import (a concurrent change?); "
                              "nothing was written, try again") from None
    return result


# -- exporting -------------------------------------------------------------

def export_rows() -> list[list]:
    """Every person and vehicle as roster rows: what ``import_roster`` reads back."""
    rows = []
    people = db.session.scalars(
        db.select(Person).outerjoin(Household).outerjoin(Building)
        .options(joinedload(Person.household).joinedload(Household.building))
        .order_by(Building.name.is_(None), Building.id, Household.unit, Household.room,
                  Person.id))
    for p in people:
        h = p.household
        rows.append(["人员", h.building.name if h else "", h.unit if h else "",
                     h.room if h else "", p.name, p.phone or "", label(p.category),
                     p.id_card_masked, p.employer, "是" if p.is_returnee else "否", "", ""])
    vehicles = db.session.scalars(
        db.select(Vehicle).options(joinedload(Vehicle.household).joinedload(Household.building),
                                   joinedload(Vehicle.owner)).order_by(Vehicle.plate))
    for v in vehicles:
        h = v.household
        rows.append(["车辆", h.building.name if h else "", h.unit if h else "",
                     h.room if h else "", v.owner.name if v.owner else "",
                     (v.owner.phone or "") if v.owner else "", "", "", "", "", v.plate,
                     "本小区" if v.kind == "own" else "外来"])
    return rows


LISTS = {"kind": ["人员", "车辆"],
         "category": [CATEGORIES[c][0] for c in PERSON_CATEGORIES],
         "returnee": ["是", "否"], "vehicle_kind": ["本小区", "外来"]}
WIDTHS = {"kind": 14, "building": 10, "unit": 8, "room": 8, "name": 12, "phone": 15,
          "category": 22, "id_card": 22, "employer": 16, "returnee": 14, "plate": 12,
          "vehicle_kind": 18}


def _xlsx(rows: list[list], notes: bool) -> bytes:
    keys = [c.key for c in COLUMNS]
    return exports.table_xlsx(
        HEADERS, rows, title="名册", widths=[WIDTHS[k] for k in keys],
        text_columns=list(range(len(keys))),
        choices={keys.index(k): values for k, values in LISTS.items()},
        notes=TEMPLATE_NOTES if notes else None)


def export_bytes(fmt: str) -> bytes:
    rows = export_rows()
    return _xlsx(rows, notes=False) if fmt == "xlsx" else exports.table_csv(HEADERS, rows)


def template_bytes(fmt: str) -> bytes:
    return _xlsx([], notes=True) if fmt == "xlsx" else exports.table_csv(HEADERS, [])


TEMPLATE_NOTES = [
    ["列名", "说明 / Notes"],
    ["类型(人员/车辆)", "人员 或 车辆；留空时：有姓名为人员，只有车牌为车辆。person / vehicle"],
    ["楼栋", "须为已有楼栋（如 3号楼，也可只写 3）；首次导入或勾选“允许新建楼栋”时自动新建。building"],
    ["单元", "如 2单元（只写 2 亦可）。unit"],
    ["房号", "如 301。居民、租户必填。room (required for residents and tenants)"],
    ["姓名", "人员必填；车辆行可写车主姓名，仅供阅读。name"],
    ["手机号", "11位手机号，不可重复；车辆行填写车主手机号以关联车主。11-digit mobile, unique"],
    ["类别", "居民/租户/环卫/工作人员/快递外卖/其他，留空为居民。category, default 居民"],
    ["身份证号", "18位；系统只保存打码后的号码（如 1101**********1234）。请把本列设为文本。"
     "ID number, stored masked only"],
    ["工作单位", "环卫、快递等非居民填写。employer"],
    ["返乡人员(是/否)", "是 或 否。returnee: 是 (yes) / 否 (no)"],
    ["车牌号", "如 京A12345、新能源 京AD12345；人员行填写则同时登记为该人的车辆。plate"],
    ["车辆类型(本小区/外来)", "本小区 或 外来；留空时有住址为本小区。own / outside"],
    ["", ""],
    ["示例 / Examples", ""],
    ["人员", "3号楼 | 2单元 | 301 | 张三 | 13912345678 | 居民 | | | 否 | 京A12345 |"],
    ["人员", "| | | 李四 | 13800001111 | 环卫 | | 区环卫所 | 否 | |"],
    ["车辆", "5号楼 | 1单元 | 102 | 王五 | 13700002222 | | | | | 京AD12345 | 本小区"],
    ["", ""],
    ["重新导入", "按手机号（无手机号时按同一住户的姓名）匹配人员、按车牌匹配车辆：更新而不重复。"
     "空白单元格表示不修改。Re-import updates: blank cells keep stored values."],
]
