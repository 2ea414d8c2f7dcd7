"""Health staff: episodes of home quarantine, from start to certificate.

Every page here shows health data, so each view writes who looked at it to
the access log (``record_view``); only health staff (and admins) are admitted.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...config import community_tz
from ...extensions import db
from ..readings import HealthAlert
from ..models import HealthCertificate
from ...models import Person
from gatepass.alerts import AlertAction
from gatepass.roles import Role
from gatepass.quarantine import CheckMethod, CheckResult, ErrandKind, Outcome, TravelMode, cohorts
from .. import certificates, episodes as health
from .. import homecare as care
from ...common.audit import record_view

HEALTH = (Role.HEALTH,)  # and admin: roles_required always admits admin


def render_logged(template: str, **context) -> str:
    """Render, then commit the access-log entry the view added: committing first would
    expire every loaded row and make the template load them again one by one."""
    html = render_template(template, **context)
    db.session.commit()
    return html


def _checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _back_to(ep, back: str, endpoint: str):
    """After a form about one episode: back to the list it was sent from (its ``back``
    field says so), else to the episode's own page."""
    if request.form.get("back") == back:
        return redirect(url_for(endpoint))
    return redirect(url_for(".episode", episode_id=ep.id))


def _local_datetime(day: str, clock: str = "") -> datetime | None:
    """A local date (and optional HH:MM) from a form, as UTC; None for "now"; refused if nonsense."""
    if not day or (not clock and day == datetime.now(community_tz()).date().isoformat()):
        return None  # today with no time given: from now
    try:
        d = date.fromisoformat(day)
        t = time.fromisoformat(clock) if clock else time(0)
    except ValueError:
        raise health.HealthError("BAD_DATE", "日期或时间格式不对", "bad date or time") from None
    return datetime.combine(d, t, community_tz()).astimezone(timezone.utc)


# -- lists ----------------------------------------------------------------------------

@bp.get("/quarantine")
@roles_required(*HEALTH)
def quarantine():
    now = datetime.now(timezone.utc)
    rows = health.rows(now)
    groups = cohorts(rows, lambda r: r.episode.arrived_at, community_tz())
    alerts = {a.episode_id for a in db.session.scalars(
        db.select(HealthAlert).where(HealthAlert.closed_at.is_(None)))}
    record_view("health.quarantine_list", detail=f"{len(rows)} people")
    return render_logged("office/quarantine.html", groups=groups, count=len(rows),
                           form=ActionForm(), alerted=alerts,
                           fever=current_app.config["FEVER_THRESHOLD"],
                           deadlines=health.overdue_after())


@bp.get("/quarantine/overdue")
@roles_required(*HEALTH)
def quarantine_overdue():
    rows = health.overdue_rows()
    record_view("health.overdue_list", detail=f"{len(rows)} people")
    return render_logged("office/quarantine_overdue.html", rows=rows, form=ActionForm(),
                           deadlines=health.overdue_after())


# -- start ----------------------------------------------------------------------------------

@bp.get("/quarantine/start/<int:person_id>")
@roles_required(*HEALTH)
def quarantine_start_form(person_id: int):
    person = db.get_or_404(Person, person_id)
    return render_template("office/quarantine_start.html", person=person, form=ActionForm(),
                           modes=list(TravelMode), days=current_app.config["QUARANTINE_DAYS"],
                           today=datetime.now(community_tz()).date())


@bp.post("/quarantine/<int:person_id>/start")
@roles_required(*HEALTH)
def quarantine_start(person_id: int):
    _checked()
    person = db.get_or_404(Person, person_id)
    f = request.form
    ep = health.start_episode(person, _local_datetime(f.get("arrived_on", ""), f.get("arrived_time", "")),
                              days=f.get("days", type=int), origin=f.get("origin", ""),
                              travel_mode=f.get("travel_mode", ""),
                              travel_number=f.get("travel_number", ""), user_id=current_user.id)
    db.session.commit()
    flash(_("已开始居家隔离：%(name)s", name=person.name), "ok")
    return redirect(url_for(".episode", episode_id=ep.id))


# -- one episode -------------------------------------------------------------------------------

@bp.get("/quarantine/episodes/<int:episode_id>")
@roles_required(*HEALTH)
def episode(episode_id: int):
    ep = health.get_episode(episode_id)
    reports = health.reports_of(ep)
    tz = community_tz()
    chart = {"labels": [r.taken_at.astimezone(tz).strftime("%m-%d %H:%M") for r in reports],
             "values": [r.value for r in reports],
             "threshold": current_app.config["FEVER_THRESHOLD"]}
    alerts = db.session.scalars(db.select(HealthAlert).where(HealthAlert.episode_id == ep.id)
                                .order_by(HealthAlert.opened_at.desc())).all()
    record_view("health.episode", person_id=ep.person_id, target=f"episode:{ep.id}")
    return render_logged("office/episode.html", ep=ep, reports=reports, chart=chart, alerts=alerts,
                           day=health.episode_day(ep), checks=care.checks_of(ep),
                           errands=care.errands_of(ep), form=ActionForm(),
                           history=health.episodes_of(ep.person),
                           certs=db.session.scalars(db.select(HealthCertificate).where(
                               HealthCertificate.episode_id == ep.id)).all(),
                           outcomes=list(Outcome), methods=list(CheckMethod),
                           results=list(CheckResult), errand_kinds=list(ErrandKind),
                           actions=list(AlertAction),
                           due=datetime.now(timezone.utc) >= ep.planned_end_at,
                           fever=current_app.config["FEVER_THRESHOLD"])


@bp.post("/quarantine/episodes/<int:episode_id>/report")
@roles_required(*HEALTH)
def episode_report(episode_id: int):
    _checked()
    ep = health.get_episode(episode_id)
    value = request.form.get("value", type=float)
    if value is None:
        raise health.HealthError("MISSING_TEMPERATURE", "请填写体温", "enter a temperature")
    report = health.record_report(ep, value, request.form.get("symptoms", ""), user_id=current_user.id)
    db.session.commit()
    flash(_("已记录体温 %(v).1f℃", v=report.value), "ok")
    return _back_to(ep, "list", ".quarantine")


@bp.post("/quarantine/episodes/<int:episode_id>/end")
@roles_required(*HEALTH)
def episode_end(episode_id: int):
    _checked()
    ep = health.get_episode(episode_id)
    health.end_episode(ep, request.form.get("outcome", ""), request.form.get("reason", ""),
                       current_user.id)
    db.session.commit()
    flash(_("已解除居家隔离：%(name)s", name=ep.person.name), "ok")
    return redirect(url_for(".episode", episode_id=ep.id))


@bp.post("/quarantine/episodes/<int:episode_id>/checks")
@roles_required(*HEALTH)
def episode_check(episode_id: int):
    _checked()
    ep = health.get_episode(episode_id)
    care.log_check(ep, request.form.get("method", ""), request.form.get("result", ""),
                       request.form.get("note", ""), current_user.id)
    db.session.commit()
    flash(_("已记录入户检查"), "ok")
    return _back_to(ep, "homecare", ".homecare")


@bp.post("/quarantine/episodes/<int:episode_id>/errands")
@roles_required(*HEALTH)
def episode_errand(episode_id: int):
    _checked()
    ep = health.get_episode(episode_id)
    care.log_errand(ep, request.form.get("kind", ""), request.form.get("note", ""), current_user.id)
    db.session.commit()
    flash(_("已记录代办事项"), "ok")
    return _back_to(ep, "homecare", ".homecare")


@bp.get("/homecare")
@roles_required(*HEALTH)
def homecare():
    days = current_app.config["HOME_CHECK_DAYS"]
    days = request.args.get("days", days, type=int) or days
    episodes = health.open_episodes()
    record_view("health.homecare", detail=f"{len(episodes)} homes")
    return render_logged("office/homecare.html", unchecked=care.not_checked(episodes, days),
                           days=days, errands=care.recent_errands(), form=ActionForm(),
                           methods=list(CheckMethod), results=list(CheckResult),
                           errand_kinds=list(ErrandKind), episodes=episodes)


# -- certificates ------------------------------------------------------------------------------------

@bp.post("/quarantine/episodes/<int:episode_id>/certificate")
@roles_required(*HEALTH)
def episode_certificate(episode_id: int):
    _checked()
    cert = certificates.issue(health.get_episode(episode_id), current_user.id)
    db.session.commit()
    flash(_("已开具健康证明 %(n)s", n=cert.number), "ok")
    return redirect(url_for(".episode", episode_id=episode_id))


@bp.get("/certificates")
@roles_required(*HEALTH)
def certificate_list():
    rows = db.session.scalars(db.select(HealthCertificate).order_by(HealthCertificate.id.desc())
                              .limit(200)).all()
    record_view("health.certificates", detail=f"{len(rows)} certificates")
    return render_logged("office/certificates.html", certs=rows, form=ActionForm())


@bp.get("/certificates/<int:cert_id>.pdf")
@roles_required(*HEALTH)
def certificate_pdf(cert_id: int):
    cert = certificates.get(cert_id)
    data = certificates.pdf(cert)
    record_view("health.certificate", person_id=cert.episode.person_id, target=f"certificate:{cert.id}")
    db.session.commit()
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="certificate-{cert.number}.pdf"',
        "Cache-Control": "no-store"})


@bp.post("/certificates/<int:cert_id>/revoke")
@roles_required(*HEALTH)
def certificate_revoke(cert_id: int):
    _checked()
    cert = certificates.revoke(certificates.get(cert_id), request.form.get("reason", ""),
                               current_user.id)
    db.session.commit()
    flash(_("已撤销健康证明 %(n)s", n=cert.number), "ok")
    return redirect(url_for(".episode", episode_id=cert.episode_id))
