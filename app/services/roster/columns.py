"""The roster's columns and the words an office writes in them.

One place for what a column is called (in the template, in exports, in error
messages, in the headers offices really use) and which values it accepts.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gatepass.categories import CATEGORIES, VehicleKind


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


def header_key(text) -> str:
    """A header cell as compared with the aliases: "类型(人员/车辆)" -> "类型"."""
    t = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    t = re.sub(r"[(\[].*?[)\]]", "", t)
    return re.sub(r"[\s_]+", " ", t).strip()


ALIASES = {header_key(a): c.key for c in COLUMNS for a in (c.header, *c.aliases)}

KINDS = {"人员": "person", "人": "person", "person": "person", "people": "person",
         "车辆": "vehicle", "车": "vehicle", "vehicle": "vehicle", "car": "vehicle"}
CATEGORY_WORDS = {**{zh: code for code, (zh, _en, _c) in CATEGORIES.items()},
                  **{en.lower(): code for code, (_zh, en, _c) in CATEGORIES.items()},
                  **{code: code for code in CATEGORIES},
                  "业主": "resident", "快递": "courier", "外卖": "courier", "保洁": "sanitation",
                  "物业": "staff"}
YES_NO = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False,
          "true": True, "false": False, "1": True, "0": False, "√": True, "×": False}
_OWN, _OUTSIDE = VehicleKind.OWN.value, VehicleKind.OUTSIDE.value
VEHICLE_KINDS = {"本小区": _OWN, "本小区车辆": _OWN, "业主": _OWN, "own": _OWN,
                 "外来": _OUTSIDE, "外来车辆": _OUTSIDE, "outside": _OUTSIDE, "visitor": _OUTSIDE}

PHONE_RE = re.compile(r"1[3-9]\d{9}")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters: no I, no O
PLATE_RE = re.compile(
    rf"[{_PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{4}}[{_L}0-9挂学警港澳]"  # ordinary: 京A12345, 粤B1234学
    rf"|[DF][{_L}0-9]\d{{4}}|\d{{5}}[DF])")  # new energy: 京AD12345, 京A12345F
ID_RE = re.compile(r"\d{17}[\dX]")
MASKED_ID_RE = re.compile(r"\d{4}\*+[\dX]{4}")
