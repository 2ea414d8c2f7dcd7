"""Home quarantine of returnees: 14 days, two temperature reports a day.

Health staff follow each returnee; the gate denies a person in quarantine
going out (coming home is always allowed). Plain functions on datetimes so
the gate, the service and the tests share them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

QUARANTINE_DAYS = 14
#: Two reports a day: a morning one (before noon) and an afternoon one.
SLOTS = (("am", time(0, 0), time(12, 0)), ("pm", time(12, 0), time(23, 59, 59, 999999)))
#: A slot's report is overdue once this local time has passed without one.
OVERDUE_AFTER = {"am": time(10, 0), "pm": time(18, 0)}
#: A reading at or above this is a fever, at home and at the gate.
FEVER_THRESHOLD = 37.3
FEVER = FEVER_THRESHOLD  # the older name


def quarantine_end(start: datetime, days: int = QUARANTINE_DAYS) -> datetime:
    return start + timedelta(days=days)


def in_quarantine(until: datetime | None, now: datetime) -> bool:
    return until is not None and now < until


def day_number(until: datetime, now: datetime, days: int = QUARANTINE_DAYS) -> int:
    """1 on the first day, ``days`` on the last."""
    start = until - timedelta(days=days)
    return max(1, min(days, (now - start).days + 1))


def slot_of(at: datetime, tz: tzinfo) -> str:
    t = at.astimezone(tz).time()
    return "am" if t < time(12, 0) else "pm"


@dataclass(frozen=True)
class DayReports:
    am: float | None
    pm: float | None
    overdue: tuple[str, ...]  # slots whose report is late now
    fever: bool


def today_reports(reports: list[tuple[datetime, float]], now: datetime, tz: tzinfo,
                  started: datetime | None = None) -> DayReports:
    """Today's AM/PM readings (latest of each), which are overdue, any fever.

    A slot whose deadline passed before the quarantine ``started`` is not owed.
    """
    today = now.astimezone(tz).date()
    by_slot: dict[str, tuple[datetime, float]] = {}
    for at, value in reports:
        if at.astimezone(tz).date() != today:
            continue
        slot = slot_of(at, tz)
        if slot not in by_slot or at > by_slot[slot][0]:
            by_slot[slot] = (at, value)
    def owed(slot: str) -> bool:
        deadline = datetime.combine(today, OVERDUE_AFTER[slot], tz)
        return now >= deadline and (started is None or started < deadline)

    overdue = tuple(s for s in ("am", "pm") if s not in by_slot and owed(s))
    values = [v for _, v in by_slot.values()]
    return DayReports(am=by_slot.get("am", (None, None))[1], pm=by_slot.get("pm", (None, None))[1],
                      overdue=overdue, fever=any(v >= FEVER for v in values))
