"""Retention: delete the health data of episodes that ended long enough ago (PIPL: delete on schedule).

What goes: temperature and symptom reports, registrations, home checks,
errands and closed alerts of episodes ended more than DAYS ago, and rejected
registrations decided that long ago. What stays: the episode itself (that a
quarantine happened, its dates and outcome) and its certificate, whose
public check page must keep working.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from ..extensions import db
from .models import Errand, HomeCheck, QuarantineEpisode, Registration
from .readings import HealthAlert, TemperatureReport


@dataclass
class PurgeCounts:
    temperature_reports: int = 0
    symptom_reports: int = 0
    registrations: int = 0
    home_checks: int = 0
    errands: int = 0
    alerts: int = 0

    def items(self):
        return asdict(self).items()


def _selections(cutoff: datetime) -> dict:
    old = db.select(QuarantineEpisode.id).where(QuarantineEpisode.ended_at < cutoff)
    reports = TemperatureReport.episode_id.in_(old)
    return {
        "temperature_reports": (TemperatureReport, reports & (TemperatureReport.symptoms == "")),
        "symptom_reports": (TemperatureReport, reports & (TemperatureReport.symptoms != "")),
        "registrations": (Registration, Registration.episode_id.in_(old)
                          | ((Registration.status == "rejected") & (Registration.decided_at < cutoff))),
        "home_checks": (HomeCheck, HomeCheck.episode_id.in_(old)),
        "errands": (Errand, Errand.episode_id.in_(old)),
        "alerts": (HealthAlert, HealthAlert.episode_id.in_(old) & HealthAlert.closed_at.is_not(None)),
    }


def purge(days: int, dry_run: bool = True, now: datetime | None = None) -> PurgeCounts:
    """Count (dry run) or delete, per kind; the caller commits."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    counts = PurgeCounts()
    for kind, (model, where) in _selections(cutoff).items():
        n = db.session.scalar(db.select(db.func.count()).select_from(model).where(where)) or 0
        setattr(counts, kind, n)
        if not dry_run and n:
            db.session.execute(db.delete(model).where(where).execution_options(synchronize_session=False))
    return counts
