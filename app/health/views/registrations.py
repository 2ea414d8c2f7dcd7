"""Health staff: the self-registration queue (扫码登记) and the gate posters that feed it."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...extensions import db
from ...models import Gate
from ..models import Registration
from gatepass import qrimage
from gatepass.roles import Role
from .. import registrations as regs
from ...common.audit import record_view
from ...services.communities import community_name
from .office import render_logged
from ..pdf import poster


@bp.get("/registrations")
@roles_required(Role.HEALTH)
def registrations():
    decided = db.session.scalars(db.select(Registration).where(Registration.status != "pending")
                                 .order_by(Registration.decided_at.desc()).limit(30)).all()
    queue = regs.pending()
    record_view("health.registrations", detail=f"{len(queue)} pending")
    links = {r.id: regs.pass_link(r) for r in decided}
    return render_logged("office/registrations.html", queue=queue, decided=decided, links=links,
                         matches={r.id: regs.match_for(r) for r in queue},
                         others=regs.same_phone(queue), form=ActionForm(), base=regs.public_base())


def _decide(reg_id: int) -> Registration:
    if not ActionForm().validate_on_submit():
        abort(400)
    return regs.get(reg_id)


@bp.post("/registrations/<int:reg_id>/approve")
@roles_required(Role.HEALTH)
def registration_approve(reg_id: int):
    reg = _decide(reg_id)
    p = regs.approve(reg, current_user.id, choice=request.form.get("as", ""),
                     person_id=request.form.get("person_id", type=int))
    db.session.commit()
    flash(_("已通过：%(name)s，居家隔离已开始；请把下方的通行证链接发给本人", name=reg.name), "ok")
    if p.person.phone != reg.phone:
        flash(_("手机号 %(phone)s 已属于另一人员，新人员未记录手机号：请核实后在人员页补填",
                phone=reg.phone), "error")
    return redirect(url_for(".registrations", _anchor=f"reg-{reg.id}"))


@bp.post("/registrations/<int:reg_id>/reject")
@roles_required(Role.HEALTH)
def registration_reject(reg_id: int):
    reg = _decide(reg_id)
    regs.reject(reg, request.form.get("reason", ""), current_user.id)
    db.session.commit()
    flash(_("已退回：%(name)s", name=reg.name), "ok")
    return redirect(url_for(".registrations"))


@bp.get("/posters")
@roles_required(Role.HEALTH, Role.OFFICE)
def posters():
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    urls = {g.id: regs.poster_url(g) for g in gates}
    return render_template("office/posters.html", gates=gates, urls=urls,
                           svgs={g.id: qrimage.svg(urls[g.id]) for g in gates})


@bp.get("/posters/<int:gate_id>.pdf")
@roles_required(Role.HEALTH, Role.OFFICE)
def poster_pdf(gate_id: int):
    gate = db.get_or_404(Gate, gate_id)
    data = poster(community_name(), gate.name, regs.poster_url(gate))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="poster-gate-{gate.id}.pdf"'})
