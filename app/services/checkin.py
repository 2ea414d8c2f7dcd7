"""Record one gate scan and decide it, exactly once per device and nonce.

Modelled on pretix' ``perform_checkin``: the pass row is locked while the
verdict is made, the scan is stored with its reason even when denied, and a
nonce unique per device makes a device's retries harmless. There is no
"have I seen this nonce?" SELECT first: the unique constraint answers that on
the rare retry, so a first delivery (nearly all of them) costs no extra query.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..config import community_tz
from ..models import Building, GateDevice, Household, Pass, Person, Scan, Vehicle
from gatepass.categories import label, mask_name
from gatepass.verdict import GateContext, PassState, verdict_for, verify
from gatepass.wire import pass_code
from ..health.alerts import fever_at_gate
from ..duty.guards import guard_on_duty, was_on_duty
from ..common.errors import Conflict
from .keys import neighbour_of_kid, verifying_ring
from .subdistrict_passes import is_subdistrict_pass
from .rules import category_rules
from ..tenancy import current_scope

#: A scan delivered later than this after it happened (gate was offline) is
#: not judged for anti-passback: the order of events is no longer known.
LATE_DELIVERY = timedelta(minutes=2)

#: Only a text whose signature did not verify is kept in the log (to see what was held up
#: to the camera). A validly signed token, even a denied one, is a working card: guards
#: read the log, so it must not be there.
KEEP_RAW_TEXT = frozenset({"BAD_FORMAT", "BAD_SIGNATURE", "UNKNOWN_KEY"})


def _pass_query():
    """One pass row (locked) with what the guard's screen shows of its holder: plain columns,
    no ORM objects (profiled: building four objects per scan was the largest cost left)."""
    p, person, vehicle = Pass.__table__, Person.__table__, Vehicle.__table__
    home, car_home = Household.__table__.alias("home"), Household.__table__.alias("car_home")
    building, car_building = Building.__table__.alias("b"), Building.__table__.alias("car_b")
    joined = (p.outerjoin(person, person.c.id == p.c.person_id)
              .outerjoin(home, home.c.id == person.c.household_id)
              .outerjoin(building, building.c.id == home.c.building_id)
              .outerjoin(vehicle, vehicle.c.id == p.c.vehicle_id)
              .outerjoin(car_home, car_home.c.id == vehicle.c.household_id)
              .outerjoin(car_building, car_building.c.id == car_home.c.building_id))
    return (select(p.c.id, p.c.community_id, p.c.serial, p.c.status, p.c.category,
                   p.c.valid_from,
                   p.c.valid_until, p.c.inside, p.c.last_scan_at, person.c.id.label("person_id"),
                   person.c.name, person.c.quarantine_until, vehicle.c.plate,
                   func.coalesce(building.c.name, car_building.c.name).label("building"),
                   func.coalesce(home.c.unit, car_home.c.unit).label("unit"),
                   func.coalesce(home.c.room, car_home.c.room).label("room"))
            .select_from(joined).with_for_update(of=p))


#: Core, so the scope (``app.tenancy``) is added by hand: a pass of a community outside the
#: device's scope is not found.
PASS_QUERY = _pass_query().where(Pass.__table__.c.id == bindparam("pass_id"),
                                 Pass.__table__.c.community_id.in_(
                                     bindparam("community_ids", expanding=True)))
#: The statements a scan writes, built once: values go in as parameters, so SQLAlchemy
#: neither rebuilds nor re-coerces them per request (profiled: a third of the ORM cost).
INSERT_SCAN = insert(Scan.__table__).returning(Scan.__table__.c.id)
#: Presence only: ``updated_at`` is kept (set to itself, so its ``onupdate`` does not fire):
#: it dates changes of the pass itself, which the gate snapshot's ETag and the print
#: selection's "changed since" read, and a scan is not one.
UPDATE_PRESENCE = (update(Pass.__table__).where(Pass.__table__.c.id == bindparam("b_pass_id"))
                   .values(inside=bindparam("b_inside"), last_scan_at=bindparam("b_at"),
                           last_gate_id=bindparam("b_gate"),
                           updated_at=Pass.__table__.c.updated_at))


def _state(row) -> PassState:
    """The row as the domain's PassState, holder as ``Pass.holder_summary`` gives it."""
    is_person = row.person_id is not None
    holder = {"name": mask_name(row.name) if is_person else row.plate,
              "address": f"{row.building}{row.unit}{row.room}" if row.building else "",
              "category": row.category, "category_label": label(row.category),
              "code": pass_code(row.id, row.serial)}
    return PassState(pass_id=row.id, serial=row.serial, status=row.status, category=row.category,
                     valid_from=row.valid_from, valid_until=row.valid_until, inside=row.inside,
                     quarantine_until=row.quarantine_until if is_person else None, holder=holder)


def _stamped_guard(req, device: GateDevice, received: datetime) -> int | None:
    """The guard the scanner names if that guard was on duty at this gate when the scan
    was made, else the gate's guard on duty: a device cannot stamp any guard it likes,
    and a passage is recorded either way (never refused for it)."""
    if req.guard_id and was_on_duty(req.guard_id, device.gate_id, req.scanned_at):
        return req.guard_id
    return guard_on_duty(device, device.gate_id, received)


@dataclass
class ScanRequest:
    nonce: str
    token: str
    direction: str
    scanned_at: datetime
    temperature: float | None = None
    offline_reason: str | None = None
    guard_id: int | None = None  # who signed on at the scanner; else the gate's guard on duty

    def fingerprint(self) -> str:
        """What makes a retry "the same scan": a reused nonce with another body is refused.
        ``offline_reason`` is left out: a retry may add the verdict the guard was shown."""
        body = [self.token, self.direction, self.scanned_at.astimezone(timezone.utc).isoformat(),
                self.temperature]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def gate_context(gate_name: str | None, direction: str,
                 temperature: float | None = None) -> GateContext:
    cfg = current_app.config
    return GateContext(gate=gate_name, direction=direction,
                       local_tz=community_tz(),
                       max_age=timedelta(seconds=cfg["DYNAMIC_TOKEN_MAX_AGE"]),
                       rules=category_rules(), temperature=temperature,
                       fever_threshold=cfg["FEVER_THRESHOLD"])


def pass_of_other_community(pass_id: int) -> bool:
    """Whether ``pass_id`` exists outside the current scope: a token signed with this gate's
    own key for another community's pass (a ring shared before the communities were split)."""
    from ..tenancy import current_scope, system_scope
    scope = current_scope()
    if scope.everything:
        return False
    with system_scope():
        owner = db.session.scalar(select(Pass.__table__.c.community_id)
                                  .where(Pass.__table__.c.id == pass_id))
    return owner is not None and not scope.allows(owner)


class NonceReused(Conflict):
    """The device sent a nonce it used before, with a different scan."""


def _replay(device: GateDevice, req: ScanRequest) -> dict:
    """The stored answer for a nonce this device used already (a retry, or a lost race)."""
    db.session.rollback()
    scan = db.session.scalar(db.select(Scan).where(Scan.device_id == device.id,
                                                   Scan.nonce == req.nonce))
    if scan is None:
        raise RuntimeError("unique nonce violated but no stored scan found")
    if scan.request_hash and scan.request_hash != req.fingerprint():
        raise NonceReused("NONCE_REUSED", "该 nonce 已用于另一次扫码",
                          "this nonce was already used for a different scan")
    if req.offline_reason and not scan.offline_reason:
        # The scanner gave up waiting, showed the guard its offline verdict, and retried with
        # it: the log must say what the guard saw. Not part of the fingerprint (the same scan).
        scan.offline_reason = req.offline_reason
        db.session.commit()
    return {**scan.response, "scan_id": scan.id}


def perform_scan(device: GateDevice, req: ScanRequest) -> tuple[dict, bool]:
    """Return (response, created). A repeated nonce returns the first response."""
    received = datetime.now(timezone.utc)
    late = received - req.scanned_at > LATE_DELIVERY
    # A prompt delivery is judged at the server's clock (a gate's clock may be off);
    # a late one at when it happened, but never later than now.
    judged_at = min(req.scanned_at, received) if late else received
    happened_at = min(req.scanned_at, received)  # what presence is ordered by
    gate_name = device.gate.name
    ctx = gate_context(gate_name, req.direction, req.temperature)
    ctx.check_passback = not late

    locked: dict[int, object] = {}  # pass id -> its locked row
    scope = current_scope()

    def lookup(pass_id: int) -> PassState | None:
        row = db.session.execute(PASS_QUERY, {"pass_id": pass_id,
                                              "community_ids": list(scope.community_ids)}).first()
        if row is None:
            return None
        locked[pass_id] = row
        if row.last_scan_at and happened_at < row.last_scan_at:
            ctx.check_passback = False  # an older scan arriving after a newer one
        if is_subdistrict_pass(row.community_id):
            ctx.check_passback = False  # its holder walks from one community into the next
        return _state(row)

    verdict = verify(req.token, verifying_ring(device.gate.community_id), lookup, judged_at, ctx)
    if (verdict.reason == "UNKNOWN_PASS" and verdict.pass_id is not None
            and pass_of_other_community(verdict.pass_id)) or (
            verdict.reason == "UNKNOWN_KEY"
            and neighbour_of_kid(device.gate.community_id, req.token)):
        verdict = verdict_for("OTHER_COMMUNITY")  # nothing of that pass goes back
    raw = (req.token or "")[:current_app.config["SCAN_RAW_TEXT_LIMIT"]] \
        if verdict.reason in KEEP_RAW_TEXT else ""
    # Stored without scan_id (added on the way out) so the row is one INSERT, no UPDATE.
    response = {
        "allowed": verdict.allowed, "reason": verdict.reason, "message": verdict.message,
        "message_en": verdict.message_en, "pass_id": verdict.pass_id,
        "holder": verdict.holder, "direction": req.direction, "gate": gate_name,
    }
    # Core statements, not the unit of work: one INSERT ... RETURNING id and at most one
    # UPDATE of the pass, which is all a scan writes (profiled: the ORM flush was a third
    # of the request).
    values = dict(community_id=device.gate.community_id, nonce=req.nonce, device_id=device.id, gate_id=device.gate_id,
                  pass_id=verdict.pass_id if verdict.pass_id in locked else None,
                  direction=req.direction, scanned_at=req.scanned_at, received_at=received,
                  allowed=verdict.allowed, reason=verdict.reason, raw_text=raw,
                  temperature=req.temperature, offline_reason=req.offline_reason,
                  request_hash=req.fingerprint(), response=response,
                  guard_id=_stamped_guard(req, device, received))
    p = locked.get(verdict.pass_id)
    try:
        db.session.flush()  # the device's last seen, if it changed
        scan_id = db.session.execute(INSERT_SCAN, values).scalar_one()
        if verdict.allowed and p is not None and \
                (p.last_scan_at is None or happened_at >= p.last_scan_at):
            db.session.execute(UPDATE_PRESENCE, {"b_pass_id": p.id, "b_inside": req.direction == "in",
                                                 "b_at": happened_at, "b_gate": device.gate_id})
        if req.temperature is not None and req.temperature >= ctx.fever_threshold:
            fever_at_gate(scan_id, p, device.gate_id, req.temperature, received)
        db.session.commit()
    except IntegrityError:  # a retry, or the same nonce won a race on another worker
        return _replay(device, req), False
    return {**response, "scan_id": scan_id}, True
