"""Template helpers for the health pages: labels of the domain's codes, counts for the navigation.

Registered by ``app.templating`` (every global and filter in one place) from the tables at the end.
"""
from __future__ import annotations

from flask_login import current_user

from ..extensions import db
from ..models import User
from gatepass.alerts import AlertAction, AlertKind, AlertSource
from gatepass.roles import Role
from gatepass.quarantine import CheckMethod, CheckResult, ErrandKind, Outcome, TravelMode


def _labeller(enum):
    def label(value) -> str:
        try:
            return enum(value).label  # a Chinese msgid: templates translate it with _()
        except ValueError:
            return value or ""
    return label


def username(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return (user.display_name or user.username) if user else ""


class _Counts:
    """Open alerts and pending registrations, counted only when a template asks."""

    @property
    def alerts(self) -> int:
        from .alerts import open_alert_count
        return open_alert_count()

    @property
    def pending(self) -> int:
        from .registrations import pending_count
        return pending_count()


def page_values() -> dict:
    """What the navigation shows health staff (counted only when a template asks)."""
    sees = getattr(current_user, "is_authenticated", False) and current_user.may(Role.HEALTH)
    return {"health_counts": _Counts() if sees else None}


def health_board(days: int = 30) -> dict:
    """The dashboard's health panel: counts and people in quarantine per day (aggregates only)."""
    from . import episodes as health
    from .alerts import open_alert_count
    from .registrations import pending_count
    rows = health.rows()
    per_day = health.in_quarantine_per_day(days)
    return {"in_quarantine": len(rows), "overdue": sum(1 for r in rows if r.today.overdue),
            "alerts": open_alert_count(), "pending": pending_count(),
            "chart": {"labels": [d.strftime("%m-%d") for d, _ in per_day],
                      "values": [n for _, n in per_day]}}


def person_episodes(person) -> list:
    """A person's quarantine history (person page, health staff only: the view is logged)."""
    from . import episodes as health
    from ..common.audit import record_view
    episodes = health.episodes_of(person)
    if episodes:
        record_view("health.person", person_id=person.id, detail=f"{len(episodes)} episodes")
        from ..extensions import db
        db.session.commit()
    return episodes


TEMPLATE_FILTERS = {
    **{name: _labeller(enum) for name, enum in (
        ("travel_label", TravelMode), ("outcome_label", Outcome),
        ("alert_kind_label", AlertKind), ("alert_source_label", AlertSource),
        ("alert_action_label", AlertAction), ("check_method_label", CheckMethod),
        ("check_result_label", CheckResult), ("errand_label", ErrandKind))},
    "username": username}
TEMPLATE_GLOBALS = {"health_board": health_board, "person_episodes": person_episodes}
