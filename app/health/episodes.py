"""Home quarantine as the health staff run it: episodes, reports, alerts, the end.

``Person.quarantine_until`` is kept as the gate's view of an episode (the
gate snapshot carries it): ``OPEN_EPISODE_UNTIL`` while an episode is open,
the real end time once it is ended, so ending an episode makes the pass
usable at once on the server and in the next snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app

from gatepass.alerts import AlertKind, AlertSource
from gatepass.quarantine import (OPEN_EPISODE_UNTIL, Outcome, TravelMode, DayReports, day_of,
                                 is_fever, may_end, parse_overdue, planned_end, slot_bounds,
                                 today_reports, valid_days)
from gatepass.wire import TEMPERATURE_MAX, TEMPERATURE_MIN

from ..config import community_tz
from ..extensions import db
from .readings import HealthAlert, TemperatureReport
from ..models import Pass, Person
from .models import QuarantineEpisode
from .alerts import open_alert
from ..common.errors import ServiceError, must_exist


class HealthError(ServiceError):
    """A quarantine step that cannot be done as asked."""


END_REFUSALS = {
    "BAD_OUTCOME": ("请选择结束方式", "choose how the quarantine ended"),
    "NOT_YET_DUE": ("尚未期满：提前解除请选择“提前解除”并写明原因",
                    "not due yet: to end early choose 'ended early' and give a reason"),
    "OPEN_ALERT": ("还有未处理的健康提醒，请先处理", "an alert is still open: close it first"),
    "REASON_REQUIRED": ("提前解除须写明原因", "ending early needs a reason"),
}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def overdue_after() -> dict[str, time]:
    cfg = current_app.config
    return parse_overdue(cfg["REPORT_OVERDUE_AM"], cfg["REPORT_OVERDUE_PM"])


def threshold() -> float:
    return current_app.config["FEVER_THRESHOLD"]


# -- episodes -------------------------------------------------------------------

def open_episode(person: Person) -> QuarantineEpisode | None:
    return db.session.scalar(db.select(QuarantineEpisode).where(
        QuarantineEpisode.person_id == person.id, QuarantineEpisode.ended_at.is_(None)))


def get_episode(episode_id: int) -> QuarantineEpisode:
    return must_exist(db.session.get(QuarantineEpisode, episode_id),
                      "NO_EPISODE", "没有这条隔离记录", "no such quarantine episode")


def start_episode(person: Person, arrived_at: datetime | None = None, *, days: int | None = None,
                  origin: str = "", travel_mode: str = "", travel_number: str = "",
                  user_id: int | None = None, now: datetime | None = None) -> QuarantineEpisode:
    """Start home quarantine from the arrival (default: now) for ``days`` (community default)."""
    days = days or current_app.config["QUARANTINE_DAYS"]
    if not valid_days(days):
        raise HealthError("BAD_DAYS", "隔离天数应为 1-28 天", "quarantine must last 1-28 days")
    if travel_mode and travel_mode not in set(TravelMode):
        raise HealthError("BAD_TRAVEL_MODE", "请选择交通方式", "choose a travel mode")
    if open_episode(person) is not None:
        raise HealthError("ALREADY_IN_QUARANTINE", "此人正在居家隔离中", "this person is in quarantine already")
    now = _now(now)
    start = arrived_at or now
    if start > now + timedelta(minutes=5):
        raise HealthError("ARRIVAL_IN_FUTURE", "到达时间不能晚于现在", "the arrival cannot be in the future")
    ep = QuarantineEpisode(person=person, arrived_at=start, started_at=start, days=days,
                           planned_end_at=planned_end(start, days), origin=origin.strip()[:60],
                           travel_mode=travel_mode, travel_number=travel_number.strip()[:20],
                           started_by=user_id, end_reason="")
    db.session.add(ep)
    person.is_returnee = True
    person.quarantine_until = OPEN_EPISODE_UNTIL
    if current_app.config["QUARANTINE_SUSPENDS_PASS"]:
        for p in live_passes(person):
            if p.status == "active":
                p.status, p.updated_at, ep.pass_suspended = "suspended", now, True
    db.session.flush()
    return ep


def live_passes(person: Person) -> list[Pass]:
    return [p for p in person.passes if p.status != "revoked"]


def open_alerts_of(ep: QuarantineEpisode) -> int:
    return db.session.scalar(db.select(db.func.count(HealthAlert.id)).where(
        HealthAlert.closed_at.is_(None),
        (HealthAlert.episode_id == ep.id) | (HealthAlert.person_id == ep.person_id))) or 0


def end_episode(ep: QuarantineEpisode, outcome: str = Outcome.COMPLETED, reason: str = "",
                user_id: int | None = None, now: datetime | None = None) -> QuarantineEpisode:
    """End an episode: completed after the planned end with no open alert, early only with a reason."""
    now = _now(now)
    if not ep.is_open:
        raise HealthError("EPISODE_ENDED", "该隔离已结束", "this quarantine has ended already")
    refusal = may_end(ep.planned_end_at, now, open_alerts_of(ep), outcome, reason)
    if refusal:
        zh, en = END_REFUSALS[refusal]
        raise HealthError(refusal, zh, en)
    ep.ended_at, ep.outcome, ep.ended_by = now, Outcome(outcome).value, user_id
    ep.end_reason = reason.strip()[:200]
    ep.person.quarantine_until = now  # the gate lets them out from now on
    if ep.pass_suspended:
        for p in live_passes(ep.person):
            if p.status == "suspended":
                p.status, p.updated_at = "active", now
    return ep


def episode_day(ep: QuarantineEpisode, now: datetime | None = None) -> int:
    return day_of(ep.started_at, _now(now) if ep.is_open else ep.ended_at, community_tz())


def open_episodes() -> list[QuarantineEpisode]:
    """Open episodes, oldest arrival first, with their people and homes loaded in bulk."""
    from sqlalchemy.orm import selectinload
    from ..models import Household
    home = selectinload(QuarantineEpisode.person).selectinload(Person.household) \
        .selectinload(Household.building)
    return list(db.session.scalars(db.select(QuarantineEpisode).options(home)
                                   .where(QuarantineEpisode.ended_at.is_(None))
                                   .order_by(QuarantineEpisode.arrived_at, QuarantineEpisode.id)))


def episodes_of(person: Person) -> list[QuarantineEpisode]:
    return list(db.session.scalars(db.select(QuarantineEpisode)
                                   .where(QuarantineEpisode.person_id == person.id)
                                   .order_by(QuarantineEpisode.started_at.desc())))


# -- reports and alerts --------------------------------------------------------------

def record_report(ep: QuarantineEpisode, value: float, symptoms: str = "", *,
                  user_id: int | None = None, at: datetime | None = None) -> TemperatureReport:
    """A twice-daily reading (from the resident's phone or entered by staff).

    A fever (≥ the configured threshold) or any symptom opens an alert for health staff.
    The resident's phone has one reading per slot (AM/PM): a repeat replaces it and
    raises at most the slot's one alert, so a page posted again and again neither
    buries the record nor floods the alert list. Staff entries are always kept.
    """
    if value is None or not TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
        raise HealthError("BAD_TEMPERATURE", f"体温应在 {TEMPERATURE_MIN:g}-{TEMPERATURE_MAX:g} °C 之间",
                          f"temperature must be between {TEMPERATURE_MIN:g} and {TEMPERATURE_MAX:g} °C")
    if not ep.is_open:
        raise HealthError("EPISODE_ENDED", "隔离已结束，无需再报体温", "the quarantine has ended: no more reports")
    at = _now(at)
    symptoms = (symptoms or "").strip()[:200]
    slot = slot_bounds(at, community_tz())
    report = _home_report_in(ep, slot) if user_id is None else None
    if report is None:
        report = TemperatureReport(person=ep.person, episode_id=ep.id, recorded_by=user_id)
        db.session.add(report)
    report.value, report.taken_at, report.symptoms = round(value, 1), at, symptoms
    source = AlertSource.STAFF_REPORT if user_id else AlertSource.HOME_REPORT
    kind = (AlertKind.FEVER if is_fever(report.value, threshold())
            else AlertKind.SYMPTOM if symptoms else None)
    if kind is not None:
        _reading_alert(ep, kind, source, report, slot if user_id is None else None)
    return report


def _home_report_in(ep: QuarantineEpisode,
                    slot: tuple[datetime, datetime]) -> TemperatureReport | None:
    return db.session.scalar(db.select(TemperatureReport).where(
        TemperatureReport.episode_id == ep.id, TemperatureReport.recorded_by.is_(None),
        TemperatureReport.taken_at >= slot[0], TemperatureReport.taken_at < slot[1])
        .order_by(TemperatureReport.taken_at.desc()).limit(1))


def _reading_alert(ep: QuarantineEpisode, kind: AlertKind, source: AlertSource,
                   report: TemperatureReport, slot: tuple[datetime, datetime] | None) -> None:
    """Open the alert for an abnormal reading, or, within one home slot, update the slot's
    open one (a fever outranks a symptom; a closed one was handled and stays closed).

    A reading's alert always carries its temperature, which tells it apart from the
    symptoms self-reported at registration."""
    if slot is not None:
        same = db.session.scalar(db.select(HealthAlert).where(
            HealthAlert.episode_id == ep.id, HealthAlert.source == AlertSource.HOME_REPORT.value,
            HealthAlert.temperature.is_not(None),
            HealthAlert.opened_at >= slot[0], HealthAlert.opened_at < slot[1]).limit(1))
        if same is not None:
            if same.is_open and (kind == AlertKind.FEVER or same.kind != AlertKind.FEVER.value):
                same.kind, same.temperature, same.note = kind.value, report.value, report.symptoms
            return
    alert = open_alert(kind, source, person_id=ep.person_id, temperature=report.value,
                       note=report.symptoms, at=report.taken_at)
    alert.episode_id = ep.id


def reports_of(ep: QuarantineEpisode) -> list[TemperatureReport]:
    return list(db.session.scalars(db.select(TemperatureReport)
                                   .where(TemperatureReport.episode_id == ep.id)
                                   .order_by(TemperatureReport.taken_at)))


def today_of(episodes: list[QuarantineEpisode], now: datetime | None = None) -> dict[int, DayReports]:
    """Each episode's AM/PM readings today, overdue slots and fever."""
    now, tz = _now(now), community_tz()
    ids = [e.id for e in episodes]
    by_ep: dict[int, list] = {i: [] for i in ids}
    if ids:
        since = now - timedelta(days=2)
        for eid, at, value in db.session.execute(
                db.select(TemperatureReport.episode_id, TemperatureReport.taken_at,
                          TemperatureReport.value)
                .where(TemperatureReport.episode_id.in_(ids), TemperatureReport.taken_at >= since)):
            by_ep[eid].append((at, value))
    deadlines = overdue_after()
    return {e.id: today_reports(by_ep[e.id], now, tz, e.started_at, deadlines, threshold())
            for e in episodes}


@dataclass
class Row:
    """An open episode as the lists show it."""

    episode: QuarantineEpisode
    day: int
    today: DayReports


def rows(now: datetime | None = None) -> list[Row]:
    now = _now(now)
    eps = open_episodes()
    today = today_of(eps, now)
    return [Row(e, episode_day(e, now), today[e.id]) for e in eps]


def overdue_rows(now: datetime | None = None) -> list[Row]:
    return [r for r in rows(now) if r.today.overdue]


def in_quarantine_per_day(days: int = 30, now: datetime | None = None) -> list[tuple[date, int]]:
    """People in quarantine on each of the last ``days`` local days (the dashboard chart)."""
    from gatepass.quarantine import people_per_day
    now, tz = _now(now), community_tz()
    last = now.astimezone(tz).date()
    first = last - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tz)
    spans = db.session.execute(db.select(QuarantineEpisode.started_at, QuarantineEpisode.ended_at)
                               .where((QuarantineEpisode.ended_at.is_(None))
                                      | (QuarantineEpisode.ended_at >= start))).all()
    return people_per_day(spans, first, last, tz)


# -- the older entry points (person page buttons, tests) ---------------------------------

def start_quarantine(person: Person, start: datetime | None = None, days: int | None = None,
                     user_id: int | None = None) -> QuarantineEpisode:
    return start_episode(person, start, days=days, user_id=user_id)


def record_temperature(person: Person, value: float, user_id: int | None = None,
                       at: datetime | None = None) -> TemperatureReport:
    ep = open_episode(person)
    if ep is None:
        raise HealthError("NOT_IN_QUARANTINE", "此人不在居家隔离中", "this person is not in quarantine")
    return record_report(ep, value, user_id=user_id, at=at)
