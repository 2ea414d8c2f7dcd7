"""The gate logbook: what a guard writes down besides scans, as plain rules.

Five kinds of event replace the paper book at a checkpoint: a turn-away
(劝返), a visitor, a courier, an outside vehicle, an incident. Each has a few
optional fields; ``clean_event`` checks a body from the wire (scanner or gate
page) and returns the fields to store, or raises ``EventError`` with a
message a developer at the other end can act on. No Flask, no database: the
scanner imports this too.
"""
from __future__ import annotations

from dataclasses import dataclass

EVENT_KINDS = ("turn_away", "visitor", "courier", "vehicle", "incident")

TURN_AWAY_REASONS = ("outsider", "visitor_no_host", "outside_vehicle", "refused_temperature",
                     "other")
INCIDENT_TYPES = ("forced_entry", "abuse", "refused_registration", "other")
DIRECTIONS = ("in", "out")

#: Longest text kept in one field; a note longer than this is cut, not refused.
FIELD_MAX = 120
NOTE_MAX = 500


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "str"  # str | int | bool | choice
    choices: tuple[str, ...] = ()


FIELDS: dict[str, tuple[Field, ...]] = {
    "turn_away": (Field("reason", "choice", TURN_AWAY_REASONS), Field("plate")),
    "visitor": (Field("name"), Field("phone"), Field("host_household"), Field("purpose"),
                Field("direction", "choice", DIRECTIONS)),
    "courier": (Field("company"), Field("parcels", "int"), Field("disinfected", "bool"),
                Field("handed_to")),
    "vehicle": (Field("plate"), Field("driver_phone"), Field("reason"),
                Field("direction", "choice", DIRECTIONS)),
    "incident": (Field("type", "choice", INCIDENT_TYPES), Field("description")),
}

KIND_LABELS = {
    "turn_away": ("劝返", "Turned away"),
    "visitor": ("访客", "Visitor"),
    "courier": ("快递/外卖", "Courier"),
    "vehicle": ("外来车辆", "Outside vehicle"),
    "incident": ("事件", "Incident"),
}
CHOICE_LABELS = {
    "outsider": ("外来人员", "Outsider"),
    "visitor_no_host": ("访客无人接应", "Visitor without a host"),
    "outside_vehicle": ("外来车辆", "Outside vehicle"),
    "refused_temperature": ("拒绝测温", "Refused temperature"),
    "forced_entry": ("冲卡闯关", "Forced entry"),
    "abuse": ("辱骂工作人员", "Abuse of staff"),
    "refused_registration": ("拒绝登记", "Refused to register"),
    "other": ("其他", "Other"),
    "in": ("进", "In"),
    "out": ("出", "Out"),
}
FIELD_LABELS = {
    "reason": ("原因", "Reason"), "plate": ("车牌", "Plate"), "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"), "host_household": ("拜访住户", "Host household"),
    "purpose": ("事由", "Purpose"), "direction": ("方向", "Direction"),
    "company": ("公司", "Company"), "parcels": ("件数", "Parcels"),
    "disinfected": ("已消杀", "Disinfected"), "handed_to": ("交给/放置", "Handed to"),
    "driver_phone": ("司机电话", "Driver's phone"), "type": ("类型", "Type"),
    "description": ("经过", "Description"),
}


class EventError(ValueError):
    """A logbook body that cannot be stored; the message says which field and why."""


def kind_label(kind: str, lang: str = "zh") -> str:
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return en if lang == "en" else zh


def choice_label(value: str, lang: str = "zh") -> str:
    zh, en = CHOICE_LABELS.get(value, (value, value))
    return en if lang == "en" else zh


def clean_event(kind: object, data: dict) -> dict:
    """The kind's fields from ``data``, typed and trimmed; unknown keys are ignored.

    Every field is optional (a guard at 4 a.m. records what they have), but a
    field that is given must have the right type or one of the listed values.
    """
    if kind not in FIELDS:
        raise EventError(f"kind must be one of {', '.join(EVENT_KINDS)}")
    out: dict = {}
    for f in FIELDS[kind]:
        value = data.get(f.name)
        if value is None or value == "":
            continue
        if f.type == "int":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
                raise EventError(f"{f.name} must be a whole number 0-10000")
        elif f.type == "bool":
            if isinstance(value, str) and value in ("true", "false", "1", "0", "yes", "no"):
                value = value in ("true", "1", "yes")
            if not isinstance(value, bool):
                raise EventError(f"{f.name} must be true or false")
        elif f.type == "choice":
            if value not in f.choices:
                raise EventError(f"{f.name} must be one of {', '.join(f.choices)}")
        else:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise EventError(f"{f.name} must be a string")
            value = value.strip()[:FIELD_MAX]
            if f.name == "plate":
                value = value.upper().replace(" ", "")
        out[f.name] = value
    return out


def describe(kind: str, fields: dict, lang: str = "zh") -> str:
    """One line for the logbook page and exports: the fields in the kind's order."""
    parts = []
    for f in FIELDS.get(kind, ()):
        if f.name not in fields:
            continue
        value = fields[f.name]
        if f.type == "choice":
            value = choice_label(value, lang)
        elif f.type == "bool":
            value = ("yes" if value else "no") if lang == "en" else ("是" if value else "否")
        zh, en = FIELD_LABELS.get(f.name, (f.name, f.name))
        parts.append(f"{en if lang == 'en' else zh}: {value}")
    return "; ".join(parts) if lang == "en" else "；".join(parts)
