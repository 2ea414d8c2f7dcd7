"""Gate duty on the device API: logbook events, guards signing on and off.

Contracts in docs/gate-duty.md (and the README's "Gate API (contract)"): ``POST /api/v1/events`` is idempotent by nonce
(per device), ``/duty/sign-on`` takes a PIN and answers with the guard, the
current shift and the last handover at the gate, ``/duty/sign-off`` stores
the handover with the guard's note.
"""
from __future__ import annotations

from flask import g, jsonify, request
from werkzeug.exceptions import BadRequest

from gatepass.wire import OUTBOX_WAITING_HEADER, parse_time
from ...api import bp, device_required
from ...extensions import db
from ..models import Guard
from .. import guards as duty, logbook


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object (Content-Type: application/json)")
    return data


@bp.post("/events")
@device_required
def post_event():
    req = logbook.parse_event(_json_body(), parse_time)  # a LogbookError is a 400
    event, _created = logbook.record_event(req, device=g.device)
    return jsonify(event_id=event.id, kind=event.kind)


@bp.post("/duty/sign-on")
@device_required
def sign_on():
    pin = _json_body().get("pin")
    if not isinstance(pin, str) or not pin.strip():
        raise BadRequest('pin must be a string, e.g. {"pin": "1234"}')
    guard, session, handover = duty.sign_on_pin(g.device, pin.strip())  # WrongPin: 403
    body = {"guard": {"id": guard.id, "name": guard.name},
            "shift": duty.shift_json(session.shift), "handover": duty.handover_json(handover)}
    db.session.commit()
    return jsonify(body)


def _waiting(data: dict) -> int | None:
    value = data.get("outbox_waiting")
    if value is None:
        header = request.headers.get(OUTBOX_WAITING_HEADER, "")
        return int(header) if header.strip().isdigit() else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest("outbox_waiting must be a whole number")
    return value


@bp.post("/duty/sign-off")
@device_required
def sign_off():
    data = _json_body()
    guard_id, note = data.get("guard_id"), data.get("note", "")
    if isinstance(guard_id, bool) or not isinstance(guard_id, int) or not 0 < guard_id < 2**31:
        raise BadRequest("guard_id must be an integer")
    if note is not None and not isinstance(note, str):
        raise BadRequest("note must be a string")
    waiting = _waiting(data)
    guard = db.session.get(Guard, guard_id)
    if guard is None:
        raise BadRequest("no guard with that guard_id")
    duty.check_sign_off(guard, g.device.gate)  # NotOnDuty: 403
    handover = duty.sign_off(guard, g.device.gate, note or "", waiting)
    db.session.commit()
    return jsonify(handover_id=handover.id, summary=handover.summary)
