"""Home quarantine of returnees: episodes, days, two reports a day, cohorts.

An *episode* is one stay in home quarantine: a person arrives (date, from
where, how), is in quarantine from ``start`` for ``days`` days, and it ends
with an outcome. Health staff follow each one; the gate denies a person in an
open episode going out (coming home is always allowed). Plain functions on
dates and datetimes so the gate, the service and the tests share them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Callable, Iterable, TypeVar

QUARANTINE_DAYS = 14
MAX_DAYS = 28
#: Two reports a day: a morning one (before noon) and an afternoon one.
SLOTS = (("am", time(0, 0), time(12, 0)), ("pm", time(12, 0), time(23, 59, 59, 999999)))
#: A slot's report is overdue once this local time has passed without one.
OVERDUE_AFTER = {"am": time(10, 0), "pm": time(18, 0)}
#: A reading at or above this is a fever, at home and at the gate.
FEVER_THRESHOLD = 37.3
FEVER = FEVER_THRESHOLD  # the older name
#: ``Person.quarantine_until`` while an episode is open: the gate (and its offline
#: snapshot) denies going out until health staff end the episode, even past its
#: planned end; ending it writes the real end time there.
OPEN_EPISODE_UNTIL = datetime(9999, 1, 1, tzinfo=timezone.utc)


class Outcome(StrEnum):
    """How an episode ended."""

    COMPLETED = "completed"  # 期满解除
    CENTRALISED = "centralised"  # 转集中隔离
    HOSPITAL = "hospital"  # 送医
    LEFT = "left"  # 离开本社区
    ENDED_EARLY = "ended_early"  # 提前解除（须写明原因）

    @property
    def label(self) -> str:
        return _OUTCOMES[self][0]

    @property
    def label_en(self) -> str:
        return _OUTCOMES[self][1]


class TravelMode(StrEnum):
    TRAIN = "train"
    FLIGHT = "flight"
    CAR = "car"
    BUS = "bus"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _TRAVEL[self][0]

    @property
    def label_en(self) -> str:
        return _TRAVEL[self][1]


class CheckMethod(StrEnum):
    DOOR = "door"  # 入户敲门检查
    VIDEO = "video"  # 视频抽查

    @property
    def label(self) -> str:
        return {"door": "敲门检查", "video": "视频抽查"}[self.value]

    @property
    def label_en(self) -> str:
        return {"door": "Door knock", "video": "Video call"}[self.value]


class CheckResult(StrEnum):
    AT_HOME = "at_home"
    NOT_HOME = "not_home"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return {"at_home": "在家", "not_home": "不在家", "refused": "拒绝配合"}[self.value]

    @property
    def label_en(self) -> str:
        return {"at_home": "At home", "not_home": "Not at home", "refused": "Refused"}[self.value]


class ErrandKind(StrEnum):
    PARCEL = "parcel"  # 代取快递
    SHOPPING = "shopping"  # 代购
    DISINFECTANT = "disinfectant"  # 发放消毒物品
    OTHER = "other"

    @property
    def label(self) -> str:
        return _ERRANDS[self][0]

    @property
    def label_en(self) -> str:
        return _ERRANDS[self][1]


_OUTCOMES = {
    Outcome.COMPLETED: ("期满解除", "Completed"),
    Outcome.CENTRALISED: ("转集中隔离", "Moved to centralised quarantine"),
    Outcome.HOSPITAL: ("送医", "Sent to hospital"),
    Outcome.LEFT: ("离开本社区", "Left the community"),
    Outcome.ENDED_EARLY: ("提前解除", "Ended early"),
}
_TRAVEL = {
    TravelMode.TRAIN: ("火车/高铁", "Train"), TravelMode.FLIGHT: ("飞机", "Flight"),
    TravelMode.CAR: ("自驾", "Car"), TravelMode.BUS: ("长途汽车", "Coach"),
    TravelMode.OTHER: ("其他", "Other"),
}
_ERRANDS = {
    ErrandKind.PARCEL: ("代取快递", "Parcel fetched"), ErrandKind.SHOPPING: ("代购", "Shopping"),
    ErrandKind.DISINFECTANT: ("发放消毒物品", "Disinfectant handed out"),
    ErrandKind.OTHER: ("其他", "Other"),
}


# -- days -------------------------------------------------------------------

def quarantine_end(start: datetime, days: int = QUARANTINE_DAYS) -> datetime:
    """The planned end: ``days`` whole days after the start."""
    return start + timedelta(days=days)


planned_end = quarantine_end


def valid_days(days: int) -> bool:
    return 1 <= days <= MAX_DAYS


def in_quarantine(until: datetime | None, now: datetime) -> bool:
    return until is not None and now < until


def day_of(start: datetime, now: datetime, tz: tzinfo) -> int:
    """Day N of the episode by the calendar: the arrival day is day 1.

    Not capped at the planned length: "day 16 of 14" is what staff must see
    for an episode nobody has ended yet.
    """
    return max(1, (now.astimezone(tz).date() - start.astimezone(tz).date()).days + 1)


def day_number(until: datetime, now: datetime, days: int = QUARANTINE_DAYS) -> int:
    """1 on the first day, ``days`` on the last (by 24-hour periods from the start)."""
    start = until - timedelta(days=days)
    return max(1, min(days, (now - start).days + 1))


def may_end(planned: datetime, now: datetime, open_alerts: int, outcome: str,
            reason: str) -> str | None:
    """Why an episode may not be ended now (a stable code), or None.

    Completing needs the planned end to have passed and no open alert;
    ending early needs a reason; the other outcomes (centralised, hospital,
    left) are decisions taken out of the community's hands and need no wait.
    """
    try:
        outcome = Outcome(outcome)
    except ValueError:
        return "BAD_OUTCOME"
    if outcome is Outcome.COMPLETED:
        if now < planned:
            return "NOT_YET_DUE"
        if open_alerts:
            return "OPEN_ALERT"
    if outcome is Outcome.ENDED_EARLY and not reason.strip():
        return "REASON_REQUIRED"
    return None


# -- what a health certificate may say ------------------------------------------

def stay_length(start: datetime, end: datetime) -> str:
    """Whole days actually spent, never rounded up: a stay ended on its first day is
    "不足 1 天", not "0 天" (and not the planned 14)."""
    whole = max(0, (end - start).days)
    return f"{whole} 天" if whole else "不足 1 天"


@dataclass(frozen=True)
class StayAlerts:
    """The fever/symptom alerts raised for the person during the stay."""

    count: int = 0
    highest: float | None = None  # the highest temperature among them, if any had one
    still_open: int = 0


def certificate_statement(start: datetime, end: datetime, planned_days: int, outcome: str,
                          reason: str, alerts: StayAlerts, tz: tzinfo,
                          threshold: float = FEVER_THRESHOLD) -> str:
    """The certificate's one sentence: real dates and days, how the stay ended, and whether
    any fever or symptom alert was raised during it. Nothing it cannot know: it never says
    "健康状况良好", only what was (not) reported.

    Only a stay the community itself ended (期满解除 or 提前解除) gets a certificate: the
    caller refuses the others, and one with an alert still open (see ``certificate_refusal``).
    """
    start_d, end_d = start.astimezone(tz).date(), end.astimezone(tz).date()
    length = stay_length(start, end)
    if Outcome(outcome) is Outcome.COMPLETED:
        how = (f"兹证明上述人员自 {start_d:%Y-%m-%d} 至 {end_d:%Y-%m-%d} 在本社区居家隔离"
               f"（{length}），期满解除。")
    else:
        how = (f"兹证明上述人员自 {start_d:%Y-%m-%d} 起在本社区居家隔离（计划 {planned_days} 天），"
               f"于 {end_d:%Y-%m-%d}（第 {day_of(start, end, tz)} 天，实际{length}）提前解除，"
               f"原因：{reason.strip() or '未注明'}。")
    if not alerts.count:
        return how + f"隔离期间未出现发热（≥{threshold:.1f}℃）或症状提醒。"
    peak = f"，最高体温 {alerts.highest:.1f}℃" if alerts.highest is not None else ""
    return how + f"隔离期间出现发热或症状提醒 {alerts.count} 次{peak}，均已由社区医生处理。"


def certificate_refusal(outcome: str | None, is_open: bool, alerts: StayAlerts) -> str | None:
    """Why no certificate may be issued for this stay (a stable code), or None."""
    if is_open:
        return "EPISODE_OPEN"
    if outcome not in (Outcome.COMPLETED, Outcome.ENDED_EARLY):
        return "NOT_RELEASED"  # transferred, to hospital, left: not the community's to certify
    if alerts.still_open:
        return "OPEN_ALERT"
    return None


# -- report slots ------------------------------------------------------------

def slot_of(at: datetime, tz: tzinfo) -> str:
    """The AM/PM slot a reading taken at ``at`` counts for, by the local clock."""
    t = at.astimezone(tz).time()
    return "am" if t < time(12, 0) else "pm"


def slot_bounds(at: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The local half-day [start, end) of the slot ``at`` counts for (one reading each)."""
    day = at.astimezone(tz).date()
    noon = datetime.combine(day, time(12, 0), tz)
    if slot_of(at, tz) == "am":
        return datetime.combine(day, time(0), tz), noon
    return noon, datetime.combine(day + timedelta(days=1), time(0), tz)


def parse_overdue(am: str = "10:00", pm: str = "18:00") -> dict[str, time]:
    """Deadlines from config strings ("10:00"); raises ValueError on nonsense."""
    out = {"am": time.fromisoformat(am), "pm": time.fromisoformat(pm)}
    if not (out["am"] <= time(12, 0) <= out["pm"]):
        raise ValueError("the AM deadline must be before noon and the PM one after")
    return out


@dataclass(frozen=True)
class DayReports:
    am: float | None
    pm: float | None
    overdue: tuple[str, ...]  # slots whose report is late now
    fever: bool


def today_reports(reports: list[tuple[datetime, float]], now: datetime, tz: tzinfo,
                  started: datetime | None = None, overdue_after: dict | None = None,
                  threshold: float = FEVER_THRESHOLD) -> DayReports:
    """Today's AM/PM readings (latest of each), which are overdue, any fever.

    A slot whose deadline passed before the quarantine ``started`` is not owed.
    """
    deadlines = overdue_after or OVERDUE_AFTER
    today = now.astimezone(tz).date()
    by_slot: dict[str, tuple[datetime, float]] = {}
    for at, value in reports:
        if at.astimezone(tz).date() != today:
            continue
        slot = slot_of(at, tz)
        if slot not in by_slot or at > by_slot[slot][0]:
            by_slot[slot] = (at, value)

    def owed(slot: str) -> bool:
        deadline = datetime.combine(today, deadlines[slot], tz)
        return now >= deadline and (started is None or started < deadline)

    overdue = tuple(s for s in ("am", "pm") if s not in by_slot and owed(s))
    values = [v for _, v in by_slot.values()]
    return DayReports(am=by_slot.get("am", (None, None))[1], pm=by_slot.get("pm", (None, None))[1],
                      overdue=overdue, fever=any(v >= threshold for v in values))


def is_fever(value: float | None, threshold: float = FEVER_THRESHOLD) -> bool:
    return value is not None and value >= threshold


# -- cohorts (the seeds' chat groups by arrival day) -------------------------------

T = TypeVar("T")


def cohorts(items: Iterable[T], arrived: Callable[[T], datetime], tz: tzinfo) -> list[tuple[date, list[T]]]:
    """Items grouped by local arrival day, oldest cohort first (it ends first)."""
    groups: dict[date, list[T]] = defaultdict(list)
    for item in items:
        groups[arrived(item).astimezone(tz).date()].append(item)
    return sorted(groups.items())


def people_per_day(spans: Iterable[tuple[datetime, datetime | None]], first: date, last: date,
                   tz: tzinfo) -> list[tuple[date, int]]:
    """How many episodes were open on each local day from ``first`` to ``last``.

    An episode counts on a day if it was open at any moment of it; ``None``
    as the end means still open.
    """
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = dict.fromkeys(days, 0)
    for start, end in spans:
        s = start.astimezone(tz).date()
        e = end.astimezone(tz).date() if end else last
        for d in days:
            if s <= d <= e:
                counts[d] += 1
    return list(counts.items())
