"""Home quarantine as the health staff run it: start, report, end."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..extensions import db
from ..models import Person, TemperatureReport
from .errors import ServiceError
from gatepass.quarantine import QUARANTINE_DAYS, quarantine_end
from gatepass.wire import TEMPERATURE_MAX, TEMPERATURE_MIN


class HealthError(ServiceError):
    """A quarantine step that cannot be done as asked."""


def start_quarantine(person: Person, start: datetime | None = None,
                     days: int = QUARANTINE_DAYS) -> Person:
    if not 1 <= days <= 28:
        raise HealthError("BAD_DAYS", "隔离天数应为 1-28 天", "quarantine must last 1-28 days")
    person.is_returnee = True
    person.quarantine_until = quarantine_end(start or datetime.now(timezone.utc), days)
    return person


def end_quarantine(person: Person, now: datetime | None = None) -> Person:
    person.quarantine_until = now or datetime.now(timezone.utc)
    return person


def record_temperature(person: Person, value: float, user_id: int | None = None,
                       at: datetime | None = None) -> TemperatureReport:
    if not TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
        raise HealthError("BAD_TEMPERATURE", f"体温应在 {TEMPERATURE_MIN:g}-{TEMPERATURE_MAX:g} °C 之间",
                          f"temperature must be between {TEMPERATURE_MIN:g} and {TEMPERATURE_MAX:g} °C")
    report = TemperatureReport(person=person, value=round(value, 1), recorded_by=user_id,
                               taken_at=at or datetime.now(timezone.utc))
    db.session.add(report)
    return report


def people_in_quarantine(now: datetime | None = None) -> list[Person]:
    now = now or datetime.now(timezone.utc)
    return list(db.session.scalars(db.select(Person).where(Person.quarantine_until > now)
                                   .order_by(Person.quarantine_until)))


def recent_reports(person_ids: list[int], since: datetime) -> dict[int, list[tuple[datetime, float]]]:
    out: dict[int, list[tuple[datetime, float]]] = {pid: [] for pid in person_ids}
    if not person_ids:
        return out
    rows = db.session.execute(db.select(TemperatureReport.person_id, TemperatureReport.taken_at,
                                        TemperatureReport.value)
                              .where(TemperatureReport.person_id.in_(person_ids),
                                     TemperatureReport.taken_at >= since - timedelta(days=1)))
    for pid, at, value in rows:
        out[pid].append((at, value))
    return out
