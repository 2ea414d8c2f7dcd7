"""Shifts, handover and check schedules at the gate, as plain functions.

A checkpoint is staffed around the clock in one of three ways:

* ``eight``: eight shifts of three hours (Harbin), 00:00-03:00 ... 21:00-24:00;
* ``teams``: four rotating teams on twelve-hour shifts (Beijing's Qinghe):
  day 08:00-20:00, night 20:00-08:00, then two days off; team A works the day
  shift on the pattern's first day, B the night, and each team moves one step
  along the cycle every day;
* ``custom``: the office's own windows, e.g. "07:00-15:00,15:00-23:00,23:00-07:00".

The service turns a pattern into concrete shifts for a week; the times here
are local (the community's time zone), as a duty sheet prints them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

PATTERNS = ("eight", "teams", "custom")
PATTERN_LABELS = {"eight": ("八班倒（每班3小时）", "Eight 3-hour shifts"),
                  "teams": ("四班轮换（12小时）", "Four rotating teams (12 h)"),
                  "custom": ("自定义", "Custom")}
TEAMS = ("A", "B", "C", "D")
#: Where each team's day falls in the four-day cycle: day, night, off, off.
TEAM_CYCLE = ("day", "night", None, None)
GUARD_KINDS = ("guard", "volunteer")
PIN_RE = re.compile(r"^\d{4,8}$")

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Slot:
    """One shift on one day: local start, local end (may be the next day)."""

    name: str
    starts_at: datetime
    ends_at: datetime
    team: str | None = None


def parse_custom(spec: str) -> list[tuple[time, time]]:
    """``"07:00-15:00,15:00-23:00"`` -> windows; raises ValueError on anything else."""
    windows = []
    for part in (spec or "").replace("，", ",").split(","):
        if not part.strip():
            continue
        m = _WINDOW.match(part)
        if not m:
            raise ValueError(f"bad shift {part.strip()!r}, expected HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"bad shift {part.strip()!r}")
        windows.append((time(h1, m1), time(h2 % 24, m2)))
    if not windows:
        raise ValueError("a custom pattern needs at least one shift, e.g. 08:00-20:00")
    return windows


def _at(day: date, t: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, t, tz)


def _window(day: date, start: time, end: time, tz: tzinfo) -> tuple[datetime, datetime]:
    s = _at(day, start, tz)
    e = _at(day if end > start else day + timedelta(days=1), end, tz)
    return s, e


def team_on(team_index: int, day: date, anchor: date) -> str | None:
    """``"day"``, ``"night"`` or None (off) for team ``team_index`` on ``day``."""
    return TEAM_CYCLE[((day - anchor).days - team_index) % len(TEAM_CYCLE)]


def day_slots(kind: str, day: date, tz: tzinfo, custom: str = "",
              anchor: date | None = None) -> list[Slot]:
    """The shifts that start on ``day`` under a pattern."""
    if kind == "eight":
        out = []
        for i in range(8):
            s, e = _window(day, time(3 * i), time((3 * i + 3) % 24), tz)
            out.append(Slot(f"{3 * i:02d}:00-{(3 * i + 3):02d}:00", s, e))
        return out
    if kind == "teams":
        anchor = anchor or day
        out = []
        for label, (start, end) in (("day", (time(8), time(20))), ("night", (time(20), time(8)))):
            team = next((t for i, t in enumerate(TEAMS) if team_on(i, day, anchor) == label), None)
            s, e = _window(day, start, end, tz)
            out.append(Slot(f"{start:%H:%M}-{end:%H:%M}", s, e, team))
        return out
    if kind == "custom":
        return [Slot(f"{a:%H:%M}-{b:%H:%M}", *_window(day, a, b, tz))
                for a, b in parse_custom(custom)]
    raise ValueError(f"pattern must be one of {', '.join(PATTERNS)}")


def week_start(day: date) -> date:
    """The Monday of ``day``'s week: a duty sheet covers Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


# -- handover --------------------------------------------------------------

#: The handover summary's keys, in the order a guard reads them.
SUMMARY_KEYS = ("entries", "exits", "denied", "denials", "fevers", "turn_aways", "visitors",
                "couriers", "vehicles", "incidents", "waiting_upload")
SUMMARY_LABELS = {
    "entries": ("进入", "Entries"), "exits": ("外出", "Exits"), "denied": ("拒绝", "Denied"),
    "denials": ("拒绝原因", "Denials by reason"), "fevers": ("发热", "Fevers"),
    "turn_aways": ("劝返", "Turned away"), "visitors": ("访客", "Visitors"),
    "couriers": ("快递", "Couriers"), "vehicles": ("外来车辆", "Outside vehicles"),
    "incidents": ("事件", "Incidents"), "waiting_upload": ("待上传扫码", "Scans waiting to upload"),
}


def handover_summary(scans: list[tuple[bool, str, str, float | None]],
                     events: list[str], fever_threshold: float,
                     waiting_upload: int | None) -> dict:
    """What happened at a gate during a shift, from (allowed, reason, direction,
    temperature) per scan and the kind per logbook event."""
    denials: dict[str, int] = {}
    entries = exits = fevers = 0
    for allowed, reason, direction, temperature in scans:
        if allowed:
            entries += direction == "in"
            exits += direction == "out"
        else:
            denials[reason] = denials.get(reason, 0) + 1
        if temperature is not None and temperature >= fever_threshold:
            fevers += 1
    count = {k: events.count(k) for k in ("turn_away", "visitor", "courier", "vehicle",
                                          "incident")}
    return {"entries": entries, "exits": exits, "denied": sum(denials.values()),
            "denials": dict(sorted(denials.items(), key=lambda kv: (-kv[1], kv[0]))),
            "fevers": fevers, "turn_aways": count["turn_away"], "visitors": count["visitor"],
            "couriers": count["courier"], "vehicles": count["vehicle"],
            "incidents": count["incident"], "waiting_upload": waiting_upload}


# -- scattered compounds ---------------------------------------------------

def check_due(last_check: datetime | None, every_hours: int, now: datetime) -> datetime | None:
    """When the next check of a place is due (None: never checked, due now)."""
    if last_check is None:
        return None
    return last_check + timedelta(hours=every_hours)


def is_overdue(last_check: datetime | None, every_hours: int, now: datetime) -> bool:
    due = check_due(last_check, every_hours, now)
    return due is None or now >= due


# -- pass codes a guard types ------------------------------------------------

_CODE = re.compile(r"^\s*[Pp]?0*(\d{1,9})\s*[-‐－—]\s*(\d{1,4})\s*$")


def parse_pass_code(text: str) -> tuple[int, int] | None:
    """``"P000123-2"`` (or ``"123-2"``) -> (123, 2); anything else -> None."""
    m = _CODE.match(text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None
