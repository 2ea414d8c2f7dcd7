"""Health counts per community for the sub-district's day (``app.district.rollup``): numbers only.

The sub-district sees how many people are in home quarantine, how many alerts wait, who has not
reported, and how many fevers there were today, never whose: every function here returns
``{community_id: count}`` from one grouped query over all the communities asked for (a loop of
queries per community is what made a 200-community page slow). Health models stay inside this
folder (``tests/test_layout.py``); the district page reaches them only through these counts.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_

from gatepass.alerts import AlertKind
from ..extensions import db
from .models import QuarantineEpisode, Registration
from .readings import HealthAlert, TemperatureReport

Counts = dict[int, int]


def _grouped(model, ids: Iterable[int], *where) -> Counts:
    """``count(*)`` of ``model`` rows per community, only the communities in ``ids``."""
    stmt = (db.select(model.community_id, func.count())
            .where(model.community_id.in_(list(ids)), *where).group_by(model.community_id))
    return {cid: n for cid, n in db.session.execute(stmt)}


def in_quarantine(ids: Iterable[int]) -> Counts:
    """People in an open home-quarantine episode."""
    return _grouped(QuarantineEpisode, ids, QuarantineEpisode.ended_at.is_(None))


def open_alerts(ids: Iterable[int]) -> Counts:
    """Alerts nobody has closed yet (a fever or a symptom waiting for a doctor's call)."""
    return _grouped(HealthAlert, ids, HealthAlert.closed_at.is_(None))


def registrations_waiting(ids: Iterable[int]) -> Counts:
    return _grouped(Registration, ids, Registration.status == "pending")


def fevers(ids: Iterable[int], start: datetime, end: datetime) -> Counts:
    """Fever alerts opened in [start, end): gate thermometers and home reports alike."""
    return _grouped(HealthAlert, ids, HealthAlert.kind == AlertKind.FEVER.value,
                    HealthAlert.opened_at >= start, HealthAlert.opened_at < end)


def late_reports(ids: Iterable[int], now: datetime, tz: ZoneInfo,
                 deadlines: dict[str, time]) -> Counts:
    """Open episodes with a report owed and missing now, as the 未按时报告 list counts them
    (``gatepass.quarantine.today_reports``): a slot is owed once its deadline (10:00 / 18:00
    local) has passed, unless the stay began after it; any reading taken in the slot's local
    half-day today, by the resident or by staff, is the report.

    Today's readings are first reduced to one row per episode (had a morning one, had an
    afternoon one) and joined once: a NOT EXISTS per slot under an OR is run per episode and
    cost a quarter of a second for 20,000 people in quarantine."""
    today = now.astimezone(tz).date()
    midnight = datetime.combine(today, time(0), tz)
    noon, tomorrow = midnight + timedelta(hours=12), midnight + timedelta(days=1)
    taken = TemperatureReport.taken_at
    reported = (db.select(TemperatureReport.episode_id.label("episode_id"),
                          func.max(case((taken < noon, 1), else_=0)).label("am"),
                          func.max(case((taken >= noon, 1), else_=0)).label("pm"))
                .where(taken >= midnight, taken < tomorrow)
                .group_by(TemperatureReport.episode_id).subquery())
    missing = []
    for slot in ("am", "pm"):
        deadline = datetime.combine(today, deadlines[slot], tz)
        if now >= deadline:  # owed from the deadline on, by stays begun before it
            missing.append(and_(QuarantineEpisode.started_at < deadline,
                                func.coalesce(reported.c[slot], 0) == 0))
    if not missing:
        return {}
    stmt = (db.select(QuarantineEpisode.community_id, func.count())
            .outerjoin(reported, reported.c.episode_id == QuarantineEpisode.id)
            .where(QuarantineEpisode.community_id.in_(list(ids)),
                   QuarantineEpisode.ended_at.is_(None), or_(*missing))
            .group_by(QuarantineEpisode.community_id))
    return {cid: n for cid, n in db.session.execute(stmt)}
