"""Issue, suspend, revoke, reinstate and reissue passes; resident links."""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Gate, GateDevice, Pass, Person, Vehicle
from gatepass import tokens
from .audit import record_action
from .errors import ServiceError
from .keys import key_ring

LINK_SALT = "gatepass.resident-link.v1"


class IssuingError(ServiceError):
    """A request the office made that cannot be done (shown as a message)."""


def _new_pass(holder: Person | Vehicle, valid_from: datetime | None = None,
              valid_until: datetime | None = None) -> Pass:
    if isinstance(holder, Person):
        return Pass(person=holder, category=holder.category,
                    valid_from=valid_from, valid_until=valid_until)
    return Pass(vehicle=holder, category="vehicle", valid_from=valid_from, valid_until=valid_until)


def issue_pass(holder: Person | Vehicle, valid_from: datetime | None = None,
               valid_until: datetime | None = None) -> Pass:
    """A holder has at most one live pass; issuing again returns it."""
    is_person = isinstance(holder, Person)
    existing = db.session.scalar(db.select(Pass).where(
        (Pass.person_id == holder.id) if is_person else (Pass.vehicle_id == holder.id),
        Pass.status != "revoked"))
    if existing:
        return existing
    p = _new_pass(holder, valid_from, valid_until)
    db.session.add(p)
    db.session.flush()
    _audit("pass.issue", p)
    return p


def _audit(action: str, p: Pass, detail: str = "") -> None:
    record_action(action, f"pass:{p.id}", person_id=p.person_id, detail=detail or p.code)


def issue_passes_to_new_holders(holders: list[Person | Vehicle]) -> list[Pass]:
    """Bulk issue for holders created in this transaction, who cannot have a pass yet.

    Skips issue_pass's per-holder lookup, which dominated a 7,000-row roster import.
    """
    passes = [_new_pass(h) for h in holders]
    db.session.add_all(passes)
    return passes


def set_status(p: Pass, status: str) -> Pass:
    if status not in ("active", "suspended", "revoked"):
        raise IssuingError("BAD_STATUS", f"未知状态 {status}", f"unknown status {status}")
    if p.status == "revoked" and status != "revoked":
        raise IssuingError("REVOKED", "已作废的通行证不能恢复，请重新签发", "a revoked pass stays revoked: issue a new one")
    if p.status != status:
        _audit({"active": "pass.reinstate", "suspended": "pass.suspend",
                "revoked": "pass.revoke"}[status], p)
    p.status = status
    p.updated_at = datetime.now(timezone.utc)
    return p


def reissue(p: Pass) -> Pass:
    """New card for a lost one: the serial goes up, so the old QR is SUPERSEDED."""
    if p.status == "revoked":
        raise IssuingError("REVOKED", "已作废的通行证不能补办", "a revoked pass cannot be reissued")
    p.serial += 1
    p.updated_at = datetime.now(timezone.utc)
    _audit("pass.reissue", p, detail=p.code)
    return p


def static_token(p: Pass) -> str:
    return tokens.issue_static(key_ring(), p.id, p.serial)


def dynamic_token(p: Pass, now: datetime | None = None) -> str:
    return tokens.issue_dynamic(key_ring(), p.id, p.serial, now)


# -- resident links: a personal URL the office sends or prints -------------

def _link_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def resident_link_token(p: Pass) -> str:
    return _link_serializer().dumps([p.id, p.link_version])


def pass_for_link(link: str) -> Pass | None:
    """The pass behind a resident link, or None if forged or revoked."""
    try:
        pass_id, version = _link_serializer().loads(link)
    except (BadSignature, ValueError, TypeError):
        return None
    p = db.session.get(Pass, pass_id) if isinstance(pass_id, int) else None
    if p is None or p.link_version != version:
        return None
    return p


def revoke_link(p: Pass) -> Pass:
    p.link_version += 1
    _audit("pass.revoke_link", p)
    return p


# -- gate devices ------------------------------------------------------------

def create_device(gate_name: str, name: str | None = None) -> tuple[GateDevice, str]:
    """Make a device for a gate (creating the gate); return it and its token once."""
    gate = db.session.scalar(db.select(Gate).where(Gate.name == gate_name))
    if gate is None:
        gate = Gate(name=gate_name)
        db.session.add(gate)
        db.session.flush()
    token = "gd_" + secrets.token_urlsafe(32)
    device = GateDevice(gate=gate, name=name or f"{gate_name}-{len(gate.devices) + 1}",
                        token_hash=tokens.device_token_hash(token))
    db.session.add(device)
    db.session.flush()
    return device, token


def new_device_token(device: GateDevice) -> str:
    """Replace a device's API token (enrolment, rotation); returns the new one, once."""
    token = "gd_" + secrets.token_urlsafe(32)
    device.token_hash = tokens.device_token_hash(token)
    return token


#: A device found by its token is remembered this long per worker (every scan needs it);
#: a change to any device in this process forgets at once, other workers within this time.
DEVICE_CACHE_SECONDS = 2.0


def device_for_token(token: str) -> GateDevice | None:
    if not token or len(token) > 200:
        return None
    digest = tokens.device_token_hash(token)
    cache = current_app.extensions.setdefault("gatepass.devices", {})
    hit = cache.get(digest)
    now = time.monotonic()
    if hit is not None and now - hit[0] < DEVICE_CACHE_SECONDS:
        # A copy of the row loaded a moment ago, attached without a query.
        return db.session.merge(hit[1], load=False)
    device = db.session.scalar(db.select(GateDevice).options(joinedload(GateDevice.gate)).where(
        GateDevice.token_hash == digest))
    if device is None or not device.active:
        return None
    db.session.expunge(device.gate)  # both out of the session before its commit expires them
    db.session.expunge(device)
    cache[digest] = (now, device)
    return db.session.merge(device, load=False)


def forget_devices() -> None:
    current_app.extensions.setdefault("gatepass.devices", {}).clear()


@event.listens_for(Session, "after_flush")
def _devices_changed(session, _context) -> None:
    """A device written in this process (disabled, new token) is looked up afresh."""
    if any(isinstance(o, GateDevice) and (o in session.new or o in session.deleted or
                                          _token_or_state_changed(o))
           for o in (*session.new, *session.dirty, *session.deleted)):
        if has_app_context():
            forget_devices()


def _token_or_state_changed(device: GateDevice) -> bool:
    from sqlalchemy import inspect
    state = inspect(device)
    return any(state.attrs[name].history.has_changes() for name in ("token_hash", "active"))
