"""Template helpers for the health pages: labels of the domain's codes, counts for the navigation."""
from __future__ import annotations

from flask_login import current_user

from ..office import bp
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


for _name, _enum in (("travel_label", TravelMode), ("outcome_label", Outcome),
                     ("alert_kind_label", AlertKind), ("alert_source_label", AlertSource),
                     ("alert_action_label", AlertAction), ("check_method_label", CheckMethod),
                     ("check_result_label", CheckResult), ("errand_label", ErrandKind)):
    bp.add_app_template_filter(_labeller(_enum), _name)


@bp.app_template_filter("username")
def _username(user_id: int | None) -> str:
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


@bp.app_context_processor
def _health_counts():
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


@bp.record_once
def _register_globals(state) -> None:
    state.app.jinja_env.globals["health_board"] = health_board


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


@bp.record_once
def _register_person_episodes(state) -> None:
    state.app.jinja_env.globals["person_episodes"] = person_episodes
