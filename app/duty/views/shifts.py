"""Shifts and guards for the office: the roster, patterns per gate, the week, handovers."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...config import community_tz
from ...extensions import db
from ...models import Gate, User
from ...services.communities import community_name
from ..models import Guard, Handover
from .. import guards as duty
from ..pdf import duty_sheet_pdf
from gatepass import duty as rules


def _csrf_ok() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _monday() -> date:
    try:
        day = date.fromisoformat(request.values.get("week", ""))
    except ValueError:
        day = datetime.now(community_tz()).date()
    return rules.week_start(day)


@bp.get("/duty")
@roles_required("office")
def duty_week():
    monday = _monday()
    return render_template("office/duty.html", monday=monday, weeks=duty.week(monday),
                           days=rules.week_days(monday), guards=duty.guards(),
                           patterns=rules.PATTERNS, form=ActionForm(),
                           prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7))


@bp.post("/duty/pattern")
@roles_required("office")
def duty_pattern():
    _csrf_ok()
    gate = db.get_or_404(Gate, request.form.get("gate_id", type=int) or 0)
    duty.set_pattern(gate, request.form.get("kind", ""), request.form.get("custom", ""))
    db.session.commit()
    flash(_("排班方式已保存"), "ok")
    return redirect(url_for(".duty_week", week=_monday().isoformat()))


@bp.post("/duty/plan")
@roles_required("office")
def duty_plan():
    _csrf_ok()
    monday = _monday()
    n = 0
    for gate in db.session.scalars(db.select(Gate).order_by(Gate.id)).all():
        if duty.pattern_for(gate) is not None:
            n += len(duty.plan_week(gate, monday))
    db.session.commit()
    flash(_("已生成本周班次 %(n)s 个", n=n), "ok")
    return redirect(url_for(".duty_week", week=monday.isoformat()))


@bp.post("/duty/assign")
@roles_required("office")
def duty_assign():
    _csrf_ok()
    shift_id = request.form.get("shift_id", type=int) or 0
    guard_id = request.form.get("guard_id", type=int) or 0
    if request.form.get("remove"):
        duty.unassign(shift_id, guard_id)
    else:
        duty.assign(shift_id, guard_id)
    db.session.commit()
    return redirect(url_for(".duty_week", week=_monday().isoformat()) + f"#shift-{shift_id}")


@bp.get("/duty/sheet.pdf")
@roles_required("office", "guard")
def duty_sheet():
    monday = _monday()
    data = duty_sheet_pdf(community_name(), monday, duty.week(monday))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="duty-{monday.isoformat()}.pdf"'})


@bp.route("/guards", methods=["GET", "POST"])
@roles_required("office")
def guards():
    if request.method == "POST":
        _csrf_ok()
        f = request.form
        guard_id = f.get("guard_id", type=int)
        if guard_id:
            g = db.get_or_404(Guard, guard_id)
            if f.get("pin"):
                duty.set_pin(g, f["pin"].strip())
            if "active" in f:
                g.active = f.get("active") == "1"
            if f.get("team") is not None:
                g.team = f.get("team") or None
        else:
            user = None
            if f.get("username"):
                user = db.session.scalar(db.select(User).where(User.username == f["username"].strip()))
            duty.add_guard(f.get("name", ""), f.get("kind", "guard"), f.get("team") or None,
                           f.get("phone", ""), (f.get("pin") or "").strip() or None,
                           user.id if user else None)
        db.session.commit()
        flash(_("已保存"), "ok")
        return redirect(url_for(".guards"))
    rows = db.session.scalars(db.select(Guard).order_by(Guard.active.desc(), Guard.team,
                                                         Guard.name)).all()
    linked = [g.user_id for g in rows if g.user_id]  # users are shared by every community
    logins = {u.id: u.username
              for u in db.session.scalars(db.select(User).where(User.id.in_(linked)))}
    return render_template("office/guards.html", guards=rows, logins=logins, teams=rules.TEAMS,
                           kinds=rules.GUARD_KINDS, form=ActionForm())


@bp.get("/handovers")
@roles_required("office", "guard")
def handovers():
    rows = db.session.scalars(db.select(Handover).order_by(Handover.period_end.desc())
                              .limit(100)).all()
    guards_by_id = {g.id: g.name for g in db.session.scalars(db.select(Guard))}
    return render_template("office/handovers.html", handovers=rows, guards_by_id=guards_by_id,
                           keys=rules.SUMMARY_KEYS)
