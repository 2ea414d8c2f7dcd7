"""The twice-daily report on the resident's own phone pass page (home quarantine only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ...resident import bp, _pass_or_404
from ...config import community_tz
from ...extensions import db
from ..models import QuarantineEpisode
from .. import episodes as health
from ..registrations import SYMPTOMS
from gatepass.quarantine import DayReports, slot_of


@dataclass
class Panel:
    """What the report form on the pass page needs."""

    episode: QuarantineEpisode
    day: int
    slot: str  # the slot a report now counts for, by the clock
    today: DayReports
    form: FlaskForm
    threshold: float
    symptoms: tuple[str, ...] = SYMPTOMS


def panel(p) -> Panel | None:
    if p.person is None:
        return None
    ep = health.open_episode(p.person)
    if ep is None:
        return None
    now = datetime.now(timezone.utc)
    return Panel(ep, health.episode_day(ep, now), slot_of(now, community_tz()),
                 health.today_of([ep], now)[ep.id], FlaskForm(), health.threshold())


@bp.post("/<link>/report")
def report(link: str):
    p = _pass_or_404(link)
    if not FlaskForm().validate_on_submit():
        abort(400)
    ep = health.open_episode(p.person) if p.person else None
    if ep is None:
        flash(_("您不在居家隔离中，无需报体温"), "error")
        return redirect(url_for(".pass_page", link=link))
    value = request.form.get("value", type=float)
    if value is None:
        raise health.HealthError("MISSING_TEMPERATURE", "请填写体温", "enter a temperature")
    symptoms = [s for s in request.form.getlist("symptoms") if s in SYMPTOMS]
    report = health.record_report(ep, value, "、".join(symptoms))
    db.session.commit()
    if report.value >= health.threshold() or symptoms:
        flash(_("已上报 %(v).1f℃。体温异常或有症状：社区医生会尽快联系您，请留在家中。", v=report.value), "error")
    else:
        flash(_("已上报 %(v).1f℃，谢谢！", v=report.value), "ok")
    return redirect(url_for(".pass_page", link=link, _anchor="report"))
