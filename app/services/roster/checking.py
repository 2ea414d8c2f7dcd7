"""Checking roster rows against each other and the database, before anything is written.

One function per column reads its cell into what the record stores, or says
what is wrong with it (a ``RowError`` in both languages, with the line Excel
shows); ``check`` then compares the records with each other and with what is
stored (same phone twice, a phone that belongs to someone else...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Building, Household, Person, Vehicle
from gatepass.addresses import building_name
from gatepass.categories import (HOUSEHOLD_CATEGORIES, PERSON_CATEGORIES, VehicleKind,
                                 mask_id_card, mask_name)
from .columns import (BY_KEY, CATEGORY_WORDS, ID_RE, KINDS, MASKED_ID_RE, MAX_LEN, PHONE_RE,
                      PLATE_RE, VEHICLE_KINDS, YES_NO)
from .reading import Sheet, cell_text

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

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
    "bad_char": ("BAD_CHARACTER", "{field}含有无法保存的字符（空字符或残缺的 Unicode 字符），请删除后重新导入",
                 "{field_en} holds a character that cannot be stored (NUL or a broken "
                 "Unicode character): delete it and import again"),
    "unknown_owner": ("UNKNOWN_OWNER", "车主手机号“{value}”未登记，请先登记该人员",
                      "no person has the owner's phone {value}"),
}
#: What a database cannot store in text: NUL (PostgreSQL) and lone UTF-16 surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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


def error(errors: list[RowError], line: int, key: str, msg: str, **kw) -> None:
    code, zh, en = MESSAGES[msg]
    col = BY_KEY.get(key)
    kw.setdefault("field", col.short if col else "")
    kw.setdefault("field_en", col.en if col else "")
    errors.append(RowError(line, col.short if col else "", code, zh.format(**kw), en.format(**kw)))


@dataclass
class Row:
    """One line of the sheet while its cells are read; ``v`` holds each cell's text."""

    line: int
    raw: dict
    errors: list[RowError]
    v: dict = field(default_factory=dict)

    def error(self, key: str, msg: str, **kw) -> None:
        error(self.errors, self.line, key, msg, **kw)


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


class Known:
    """What the database knows while the rows are checked."""

    def __init__(self, create_buildings: bool):
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


# -- one function per column: the cell's text -> what the record stores ----------

def read_cells(row: Row) -> None:
    """Every cell's text; a character no database can store is an error in its column."""
    for key in BY_KEY:
        text = cell_text(row.raw.get(key))
        if _UNSTORABLE.search(text):
            row.error(key, "bad_char")
            text = _UNSTORABLE.sub("", text)
        row.v[key] = text
    for key, limit in MAX_LEN.items():
        if len(row.v[key]) > limit:
            row.error(key, "too_long", limit=limit)


def kind(row: Row) -> str | None:
    """person or vehicle; a blank type is a vehicle when there is a plate and no name."""
    v = row.v
    if not v["kind"]:
        return "vehicle" if v["plate"] and not v["name"] else "person"
    found = KINDS.get(v["kind"].lower())
    if found is None:
        row.error("kind", "bad_type", value=v["kind"])
    return found


def address(row: Row, known: Known) -> tuple | None:
    """(building, unit, room) as the database spells them; None when all three are blank."""
    building, unit, room = row.v["building"], row.v["unit"], row.v["room"]
    if not (building or unit or room):
        return None
    if not building:
        row.error("building", "missing")
    if not room:
        row.error("room", "missing")
    if not (building and room):
        return None
    name = building_name(building, known.buildings | set(known.new_buildings))
    if name not in known.buildings and name not in known.new_buildings:
        if not known.may_create:
            row.error("building", "unknown_building", value=building)
            return None
        known.new_buildings[name] = None
    if unit.isdigit():
        unit = f"{unit}单元"
    return name, unit, re.sub(r"(室|号)$", "", room)


def phone(row: Row) -> str | None:
    if not row.v["phone"]:
        return None
    number = normalise_phone(row.v["phone"])
    if not PHONE_RE.fullmatch(number):
        row.error("phone", "bad_phone", value=row.v["phone"])
        return None
    return number


def plate(row: Row) -> str:
    if not row.v["plate"]:
        return ""
    text = normalise_plate(row.v["plate"])
    if not PLATE_RE.fullmatch(text):
        row.error("plate", "bad_plate", value=row.v["plate"])
    return text


def vehicle_kind(row: Row) -> str | None:
    if not row.v["vehicle_kind"]:
        return None
    found = VEHICLE_KINDS.get(row.v["vehicle_kind"].lower())
    if found is None:
        row.error("vehicle_kind", "bad_value", value=row.v["vehicle_kind"],
                  allowed="/".join(k.label for k in VehicleKind)
                  + f" ({'/'.join(VehicleKind)})")
    return found


def name(row: Row) -> str:
    if not row.v["name"]:
        row.error("name", "missing")
    return row.v["name"]


def category(row: Row) -> str | None:
    if not row.v["category"]:
        return None
    found = CATEGORY_WORDS.get(row.v["category"].lower())
    if found not in PERSON_CATEGORIES:
        row.error("category", "bad_category", value=row.v["category"])
    return found


def id_card(row: Row) -> str | None:
    """The ID number masked at once; the full number is kept nowhere, not even in an error."""
    text = row.v["id_card"]
    if not text:
        return None
    if isinstance(row.raw.get("id_card"), float) or "E+" in text.upper():
        row.error("id_card", "id_number")
        return None
    number = text.upper().replace(" ", "")
    if MASKED_ID_RE.fullmatch(number):
        return number  # from our own export: already masked
    if not ID_RE.fullmatch(number):
        row.error("id_card", "bad_id")
        return None
    if not id_checksum_ok(number):
        row.error("id_card", "id_checksum")
        return None
    return mask_id_card(number)


def employer(row: Row) -> str | None:
    return row.v["employer"] or None


def returnee(row: Row) -> bool | None:
    if not row.v["returnee"]:
        return None
    found = YES_NO.get(row.v["returnee"].lower())
    if found is None:
        row.error("returnee", "bad_value", value=row.v["returnee"], allowed="是/否")
    return found


def records(line: int, raw: dict, known: Known, errors: list[RowError]) -> list[Record]:
    """The holders one line describes (a person, and maybe the person's car), or none if bad."""
    row = Row(line, raw, errors)
    before = len(errors)
    read_cells(row)
    row_kind = kind(row)
    if row_kind is None:
        return []
    rec = Record(line=line, kind=row_kind, name=row.v["name"], address=address(row, known))
    number, car, rec.vehicle_kind = phone(row), plate(row), vehicle_kind(row)
    if row_kind == "vehicle":
        rec.plate, rec.owner_phone = car, number
        if not car:
            row.error("plate", "missing")
        return [rec] if len(errors) == before else []
    rec.phone, rec.name = number, name(row)
    rec.category, rec.id_card = category(row), id_card(row)
    rec.employer, rec.returnee = employer(row), returnee(row)
    out = [rec]
    if car:  # a resident's car on the resident's own line
        out.append(Record(line=line, kind="vehicle", address=rec.address, plate=car,
                          vehicle_kind=rec.vehicle_kind or VehicleKind.OWN.value,
                          owner_line=line))
    return out if len(errors) == before else []


# -- the records against each other and the database ---------------------------

def check(sheet: Sheet, create_buildings: bool = False
          ) -> tuple[list[Record], list[RowError], dict]:
    """Every bad row with its reason, and the records to write if there are none."""
    known = Known(create_buildings)
    errors: list[RowError] = []
    found = [r for line, raw in sheet.rows for r in records(line, raw, known, errors)]
    phones: dict[str, int] = {}
    matched: dict[int, int] = {}
    plates: dict[str, int] = {}
    file_phones = {r.phone for r in found if r.kind == "person" and r.phone}
    for r in found:
        if r.kind == "person":
            _match_person(known, errors, r, phones, matched)
            continue
        if r.plate in plates:
            error(errors, r.line, "plate", "dup_plate", other=plates[r.plate])
            continue
        plates[r.plate] = r.line
        r.match_id = known.plates.get(r.plate)
        if r.owner_phone and r.owner_phone not in file_phones \
                and r.owner_phone not in known.by_phone:
            error(errors, r.line, "phone", "unknown_owner", value=r.owner_phone)
    errors.sort(key=lambda e: e.line)
    return found, errors, known.new_buildings


def _match_person(known: Known, errors: list, r: Record, phones: dict, matched: dict) -> None:
    if r.phone:
        if r.phone in phones:
            error(errors, r.line, "phone", "dup_phone", other=phones[r.phone])
            return
        phones[r.phone] = r.line
    household_id = known.households.get(r.address) if r.address else None
    hit = known.by_phone.get(r.phone) if r.phone else None
    if hit is not None and hit.name != r.name:
        holder = mask_name(hit.name) + (f"（{known.addresses[hit.household_id]}）"
                                        if hit.household_id else "")
        error(errors, r.line, "phone", "phone_taken", holder=holder)
        return
    if hit is None and (r.address is None or household_id):
        hit = known.by_name.get((r.name, household_id))
    # The same stored person twice, or the same new person without phone twice.
    key = hit.id if hit is not None else None if r.phone else (r.name, r.address)
    if key is not None:
        if key in matched:
            error(errors, r.line, "", "dup_person", other=matched[key])
            return
        matched[key] = r.line
    if hit is not None:
        r.match_id = hit.id
    has_home = r.address is not None or (hit is not None and hit.household_id)
    if hit is not None and r.category is None:
        return  # keeps its stored category and household
    if (r.category or "resident") in HOUSEHOLD_CATEGORIES and not has_home:
        error(errors, r.line, "building", "needs_address")
