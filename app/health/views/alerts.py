"""Health alerts: one list for fevers and symptoms from home reports and gate thermometers."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...extensions import db
from ..readings import HealthAlert
from gatepass.alerts import AlertAction
from gatepass.roles import Role
from ..alerts import close_alert, open_alerts
from ...common.audit import record_view
from .office import render_logged


@bp.get("/alerts")
@roles_required(Role.HEALTH)
def alerts():
    closed = db.session.scalars(db.select(HealthAlert).where(HealthAlert.closed_at.is_not(None))
                                .order_by(HealthAlert.closed_at.desc()).limit(50)).all()
    rows = open_alerts()
    record_view("health.alerts", detail=f"{len(rows)} open")
    return render_logged("office/alerts.html", alerts=rows, closed=closed,
                           actions=list(AlertAction), form=ActionForm())


@bp.post("/alerts/<int:alert_id>/close")
@roles_required(Role.HEALTH)
def alert_close(alert_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    alert = close_alert(alert_id, request.form.get("action", ""), current_user.id,
                        request.form.get("note", ""))
    db.session.commit()
    flash(_("提醒已处理：%(a)s", a=_(AlertAction(alert.action).label)), "ok")
    if request.form.get("back") == "episode" and alert.episode_id:
        return redirect(url_for(".episode", episode_id=alert.episode_id))
    return redirect(url_for(".alerts"))
