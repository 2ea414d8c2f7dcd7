"""Health staff: returnees in home quarantine and their twice-daily reports."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .forms import ActionForm
from ..auth import roles_required
from ..config import community_tz
from ..extensions import db
from ..models import Person
from gatepass.roles import Role
from gatepass.quarantine import FEVER, QUARANTINE_DAYS, day_number, today_reports
from ..services import health


@bp.get("/quarantine")
@roles_required(Role.HEALTH, Role.OFFICE)
def quarantine():
    now = datetime.now(timezone.utc)
    people = health.people_in_quarantine(now)
    reports = health.recent_reports([p.id for p in people], now)
    rows = []
    for p in people:
        started = p.quarantine_until - timedelta(days=QUARANTINE_DAYS)
        rows.append((p, day_number(p.quarantine_until, now),
                     today_reports(reports[p.id], now, community_tz(), started)))
    return render_template("office/quarantine.html", rows=rows, form=ActionForm(), fever=FEVER)


def _person_for_post(person_id: int) -> Person:
    if not ActionForm().validate_on_submit():
        abort(400)
    return db.get_or_404(Person, person_id)


@bp.post("/quarantine/<int:person_id>/start")
@roles_required(Role.HEALTH, Role.OFFICE)
def quarantine_start(person_id: int):
    person = _person_for_post(person_id)
    health.start_quarantine(person, days=request.form.get("days", 14, type=int) or 14)
    db.session.commit()
    flash(_("已开始居家隔离：%(name)s", name=person.name), "ok")
    return redirect(url_for(".quarantine"))


@bp.post("/quarantine/<int:person_id>/end")
@roles_required(Role.HEALTH, Role.OFFICE)
def quarantine_end(person_id: int):
    person = _person_for_post(person_id)
    health.end_quarantine(person)
    db.session.commit()
    flash(_("已解除居家隔离：%(name)s", name=person.name), "ok")
    return redirect(url_for(".quarantine"))


@bp.post("/quarantine/<int:person_id>/report")
@roles_required(Role.HEALTH)
def quarantine_report(person_id: int):
    person = _person_for_post(person_id)
    value = request.form.get("value", type=float)
    if value is None:
        raise health.HealthError("MISSING_TEMPERATURE", "请填写体温", "enter a temperature")
    health.record_temperature(person, value, current_user.id)  # refusals: app.errors
    db.session.commit()
    flash(_("已记录体温 %(v).1f℃", v=value), "ok")
    return redirect(url_for(".quarantine"))
