"""Open and close health alerts: one list for home reports and gate thermometers."""
from __future__ import annotations

from datetime import datetime, timezone

from gatepass.alerts import AlertAction, AlertKind, AlertSource

from ..extensions import db
from .readings import HealthAlert
from ..common.errors import ServiceError, must_exist


class AlertError(ServiceError):
    """An alert that cannot be closed as asked."""


def open_alert(kind: AlertKind, source: AlertSource, *, person_id: int | None = None,
               pass_id: int | None = None, scan_id: int | None = None,
               gate_id: int | None = None, temperature: float | None = None,
               note: str = "", at: datetime | None = None) -> HealthAlert:
    """Add an open alert to the session (the caller commits with what caused it)."""
    alert = HealthAlert(kind=AlertKind(kind).value, source=AlertSource(source).value,
                        person_id=person_id, pass_id=pass_id, scan_id=scan_id, gate_id=gate_id,
                        temperature=temperature, note=(note or "")[:200],
                        opened_at=at or datetime.now(timezone.utc))
    db.session.add(alert)
    return alert


def fever_at_gate(scan_id: int, p, gate_id: int | None, temperature: float,
                  at: datetime) -> HealthAlert:
    """A gate reading at or above the threshold: the community doctor must know, whatever
    the verdict (``p``: the locked pass row, if any). The one way the core (check-in) reaches
    health data: opened in the scan's transaction, so a retried nonce never opens a second."""
    return open_alert(AlertKind.FEVER, AlertSource.GATE, scan_id=scan_id,
                      pass_id=p.id if p else None, person_id=p.person_id if p else None,
                      gate_id=gate_id, temperature=temperature, at=at)


def close_alert(alert_id: int, action: str, user_id: int | None, note: str = "",
                now: datetime | None = None) -> HealthAlert:
    alert = must_exist(db.session.get(HealthAlert, alert_id),
                       "NO_ALERT", "没有这条提醒", "no such alert")
    if not alert.is_open:
        raise AlertError("ALERT_CLOSED", "该提醒已处理", "the alert is closed already")
    try:
        alert.action = AlertAction(action).value
    except ValueError:
        raise AlertError("BAD_ACTION", "请选择处理方式", "choose an action") from None
    alert.closed_at = now or datetime.now(timezone.utc)
    alert.closed_by = user_id
    alert.action_note = (note or "")[:200]
    return alert


def open_alert_count() -> int:
    return db.session.scalar(db.select(db.func.count(HealthAlert.id))
                             .where(HealthAlert.closed_at.is_(None))) or 0


def open_alerts() -> list[HealthAlert]:
    return list(db.session.scalars(db.select(HealthAlert).where(HealthAlert.closed_at.is_(None))
                                   .order_by(HealthAlert.opened_at.desc())))
