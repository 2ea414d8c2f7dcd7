"""The roster out again: every person and vehicle as rows that import back, and the template."""
from __future__ import annotations

from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Building, Household, Person, Vehicle
from gatepass.categories import CATEGORIES, PERSON_CATEGORIES, VehicleKind, label
from .. import exports
from .columns import COLUMNS, HEADERS


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
                     VehicleKind(v.kind).label])
    return rows


LISTS = {"kind": ["人员", "车辆"],
         "category": [CATEGORIES[c][0] for c in PERSON_CATEGORIES],
         "returnee": ["是", "否"], "vehicle_kind": [k.label for k in VehicleKind]}
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
