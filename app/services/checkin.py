"""Record one gate scan and decide it, exactly once per nonce.

Modelled on pretix' ``perform_checkin``: the pass row is locked while the
verdict is made, the scan is stored with its reason even when denied, and a
unique nonce makes a device's retries harmless.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..config import community_tz
from ..models import GateDevice, Pass, Scan
from gatepass.alerts import AlertKind, AlertSource
from gatepass.verdict import GateContext, PassState, verify
from .alerts import open_alert
from .duty import guard_on_duty
from .keys import key_ring
from .rules import category_rules

#: A scan delivered later than this after it happened (gate was offline) is
#: not judged for anti-passback: the order of events is no longer known.
LATE_DELIVERY = timedelta(minutes=2)


@dataclass
class ScanRequest:
    nonce: str
    token: str
    direction: str
    scanned_at: datetime
    temperature: float | None = None
    offline_reason: str | None = None
    guard_id: int | None = None  # who signed on at the scanner; else the gate's guard on duty


def gate_context(gate_name: str | None, direction: str,
                 temperature: float | None = None) -> GateContext:
    cfg = current_app.config
    return GateContext(gate=gate_name, direction=direction,
                       local_tz=community_tz(),
                       max_age=timedelta(seconds=cfg["DYNAMIC_TOKEN_MAX_AGE"]),
                       rules=category_rules(), temperature=temperature,
                       fever_threshold=cfg["FEVER_THRESHOLD"])


def _stored_response(nonce: str) -> dict | None:
    scan = db.session.scalar(db.select(Scan).where(Scan.nonce == nonce))
    return scan.response if scan else None


def perform_scan(device: GateDevice, req: ScanRequest) -> tuple[dict, bool]:
    """Return (response, created). A repeated nonce returns the first response."""
    stored = _stored_response(req.nonce)
    if stored is not None:
        return stored, False

    received = datetime.now(timezone.utc)
    # A device clock running ahead must not make passes look valid later.
    judged_at = min(req.scanned_at, received)
    late = received - req.scanned_at > LATE_DELIVERY
    ctx = gate_context(device.gate.name, req.direction, req.temperature)
    ctx.check_passback = not late

    locked: dict[int, Pass] = {}

    def lookup(pass_id: int) -> PassState | None:
        p = db.session.scalar(db.select(Pass).where(Pass.id == pass_id).with_for_update())
        if p is None:
            return None
        locked[pass_id] = p
        if p.last_scan_at and judged_at < p.last_scan_at:
            ctx.check_passback = False  # an older scan arriving after a newer one
        return p.state()

    verdict = verify(req.token, key_ring(), lookup, judged_at, ctx)
    raw_limit = current_app.config["SCAN_RAW_TEXT_LIMIT"]
    scan = Scan(nonce=req.nonce, device_id=device.id, gate_id=device.gate_id,
                pass_id=verdict.pass_id if verdict.pass_id in locked else None,
                direction=req.direction, scanned_at=req.scanned_at, received_at=received,
                allowed=verdict.allowed, reason=verdict.reason,
                raw_text=(req.token or "")[:raw_limit], temperature=req.temperature,
                offline_reason=req.offline_reason,
                guard_id=req.guard_id or guard_on_duty(device, device.gate_id, received))
    db.session.add(scan)
    p = locked.get(verdict.pass_id)
    if verdict.allowed and p is not None and (p.last_scan_at is None or req.scanned_at >= p.last_scan_at):
        p.inside = req.direction == "in"
        p.last_scan_at = req.scanned_at
        p.last_gate_id = device.gate_id
    device.last_seen_at = received
    try:
        db.session.flush()  # assigns scan.id; the unique nonce is checked here
    except IntegrityError:
        db.session.rollback()  # the same nonce won a race on another worker
        stored = _stored_response(req.nonce)
        if stored is None:
            raise
        return stored, False
    if req.temperature is not None and req.temperature >= current_app.config["FEVER_THRESHOLD"]:
        # Once per nonce: a retried delivery returned above, before this point.
        p_fever = locked.get(verdict.pass_id)
        open_alert(AlertKind.FEVER, AlertSource.GATE, scan_id=scan.id,
                   pass_id=p_fever.id if p_fever else None,
                   person_id=p_fever.person_id if p_fever else None,
                   gate_id=device.gate_id, temperature=req.temperature, at=received)
    scan.response = {
        "allowed": verdict.allowed, "reason": verdict.reason, "message": verdict.message,
        "message_en": verdict.message_en, "scan_id": scan.id, "pass_id": verdict.pass_id,
        "holder": verdict.holder, "direction": req.direction, "gate": device.gate.name,
    }
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        stored = _stored_response(req.nonce)
        if stored is None:
            raise
        return stored, False
    return scan.response, True
