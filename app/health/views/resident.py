"""The twice-daily report on the resident's own phone pass page (home quarantine only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ...resident import bp, _pass_or_404, render_pass
from ...config import community_tz
from ...extensions import csrf, db
from ..models import QuarantineEpisode
from .. import certificates, episodes as health
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

    @property
    def slot_done(self) -> bool:
        """This slot's reading is in: the form offers a correction instead of asking again."""
        return getattr(self.today, self.slot) is not None


@dataclass
class Ended:
    """A stay that ended lately: the page says so instead of the report form vanishing."""

    episode: QuarantineEpisode
    certificate_url: str | None


#: How long after the end of a stay the pass page still says it ended.
ENDED_SHOWN_FOR = timedelta(days=30)


def ended(p) -> Ended | None:
    if p.person is None or health.open_episode(p.person) is not None:
        return None
    since = datetime.now(timezone.utc) - ENDED_SHOWN_FOR
    ep = db.session.scalar(db.select(QuarantineEpisode).where(
        QuarantineEpisode.person_id == p.person.id, QuarantineEpisode.ended_at >= since)
        .order_by(QuarantineEpisode.ended_at.desc()).limit(1))
    if ep is None:
        return None
    cert = certificates.current_for(ep)
    return Ended(ep, certificates.verify_url(cert) if cert else None)


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
@csrf.exempt
def report(link: str):
    """The reading, or (a tab restored without its session cookie, so no CSRF match) the
    pass page again with the typed reading and a fresh token: the resident loses nothing.
    CSRFProtect leaves this view to check its own token (below, before anything is written)."""
    p = _pass_or_404(link)
    if not FlaskForm().validate_on_submit():
        db.session.rollback()
        flash(_("页面已过期，请再按一次“上报体温”"), "error")
        resp = render_pass(p, link, typed=request.form.get("value", "")[:6])
        resp.status_code = 400
        return resp
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
    # No #report anchor: the confirmation (and on a fever, what to do) is at the top.
    return redirect(url_for(".pass_page", link=link))
