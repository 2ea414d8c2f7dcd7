"""The gate page: a phone or tablet at the checkpoint, for guards.

Big buttons for the logbook (turn-away, visitor, courier, outside vehicle,
incident), who is on duty, signing on (own login or PIN) and off with the
handover note, the last handover and the notices. Events go through the
same ``record_event`` as the scanner's API, with a nonce made in the
browser so a double tap or a resend after a dropped connection stores once.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...config import community_tz, filter_id
from ...extensions import db
from ...models import Gate
from ..models import GateEvent, Guard
from .. import guards as duty, logbook, notices
from ...services.dashboard import day_bounds
from gatepass import logbook as book
from gatepass.wire import parse_time

GATE_ROLES = ("guard", "office")


def _gate_from(value) -> Gate | None:
    gate_id = filter_id(value)
    return db.session.get(Gate, gate_id) if gate_id else None


@bp.get("/gate")
@roles_required(*GATE_ROLES)
def gate_page():
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    gate = _gate_from(request.args.get("gate")) or _gate_from(session.get("gate_id"))
    if gate is None and len(gates) == 1:
        gate = gates[0]
    if gate is None:
        return render_template("office/gate_pick.html", gates=gates)
    session["gate_id"] = gate.id
    now = datetime.now(timezone.utc)
    me = duty.guard_for_user(current_user.id)
    sessions = duty.on_duty(gate.id, now)
    drafts = {s.id: duty.draft_summary(gate.id, s.started_at, now) for s in sessions}
    start, end = day_bounds(now.astimezone(community_tz()).date(), community_tz())
    counts = dict(db.session.execute(db.select(GateEvent.kind, db.func.count()).where(
        GateEvent.gate_id == gate.id, GateEvent.at >= start, GateEvent.at < end)
        .group_by(GateEvent.kind)).all())
    recent = db.session.scalars(db.select(GateEvent).where(GateEvent.gate_id == gate.id)
                                .order_by(GateEvent.at.desc()).limit(8)).all()
    return render_template("office/gate.html", gate=gate, gates=gates, me=me, sessions=sessions,
                           drafts=drafts, handover=duty.last_handover(gate.id, now),
                           notices=notices.current_notices(now), counts=counts, recent=recent,
                           fields=book.FIELDS, kinds=book.EVENT_KINDS, field_labels=book.FIELD_LABELS,
                           summary_keys=duty.rules.SUMMARY_KEYS, form=ActionForm())


@bp.get("/gate-sw.js")
@roles_required(*GATE_ROLES)
def gate_worker():
    """The gate page's service worker, served under /office/ so that it may serve the page."""
    resp = current_app.send_static_file("gate-sw.js")  # (no-store, as every /office page)
    resp.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return resp


@bp.post("/gate/events")
@roles_required(*GATE_ROLES)
def gate_event():
    """JSON from the gate page: the API's event body plus ``gate_id``."""
    data = request.get_json(silent=True)
    req = logbook.parse_event(data, parse_time)  # LogbookError -> 400 JSON
    gate = _gate_from(data.get("gate_id"))
    if gate is None:
        raise logbook.LogbookError("NO_GATE", "请选择门岗", "gate_id names no gate")
    event, created = logbook.record_event(req, user_id=current_user.id, gate=gate)
    return jsonify(event_id=event.id, kind=event.kind, created=created)


def _form_gate() -> Gate:
    if not ActionForm().validate_on_submit():
        abort(400)
    gate = _gate_from(request.form.get("gate_id"))
    if gate is None:
        abort(400)
    return gate


@bp.post("/gate/sign-on")
@roles_required(*GATE_ROLES)
def gate_sign_on():
    """Sign on by login or PIN. Your own PIN again while already on duty here asks first:
    signing on again restarts the shift (its draft handover starts over)."""
    gate = _form_gate()
    pin = (request.form.get("pin") or "").strip()
    if pin:
        guard, via = duty.check_pin(pin, f"user:{current_user.id}"), "pin"
    else:
        guard = duty.guard_for_user(current_user.id)
        if guard is None:
            raise duty.DutyError("NO_GUARD", "您的账号没有登记为门岗人员，请输入 PIN",
                                 "your login is not on the duty roster: enter a PIN")
        via = "login"
    if pin and request.form.get("confirm") != "1" and \
            any(s.guard_id == guard.id for s in duty.on_duty(gate.id)):
        db.session.commit()  # (the rate-limit count of a wrong PIN above is kept)
        return render_template("office/gate_confirm.html", gate=gate, guard=guard, pin=pin,
                               form=ActionForm())
    _session, handover = duty.sign_on(guard, gate, None, via)
    db.session.commit()
    flash(_("%(name)s 已上岗", name=guard.name), "ok")
    return redirect(url_for(".gate_page", gate=gate.id, signed_on=guard.id) +
                    ("#handover" if handover else ""))


@bp.post("/gate/sign-off")
@roles_required(*GATE_ROLES)
def gate_sign_off():
    gate = _form_gate()
    guard = db.get_or_404(Guard, filter_id(request.form.get("guard_id")) or 0)
    duty.check_sign_off(guard, gate, duty.guard_for_user(current_user.id),
                        anyone=current_user.may("office"))
    handover = duty.sign_off(guard, gate, request.form.get("note", ""))
    db.session.commit()
    flash(_("%(name)s 已下岗，交接单已保存", name=guard.name), "ok")
    return redirect(url_for(".gate_page", gate=gate.id, handover=handover.id))


