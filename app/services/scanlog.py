"""The scan log as the office and health staff search it: one query for pages, exports and CLI."""
from __future__ import annotations

from sqlalchemy import func, or_

from gatepass.verdict import REASONS
from gatepass.wire import DIRECTIONS

from ..config import community_time, filter_id
from ..extensions import db
from ..models import Household, Pass, Person, Scan, Vehicle


#: Reasons that tell whose health is in question; a guard's log and export say only "denied".
HEALTH_REASONS = frozenset({"IN_QUARANTINE", "FEVER"})


def scan_query(args, for_guard: bool = False) -> tuple:
    """The scan-log query for the filters in ``args`` (a page's query string, the CLI's
    options) and the filters as read; shared by the page, its exports and ``scans export``.

    ``for_guard``: the search box matches names and plates, never phone numbers (a
    guard cannot look a resident up by phone), and health reasons cannot be filtered on."""
    stmt = (db.select(Scan).outerjoin(Pass, Scan.pass_id == Pass.id)
            .outerjoin(Person, Pass.person_id == Person.id)
            .outerjoin(Vehicle, Pass.vehicle_id == Vehicle.id)
            .outerjoin(Household, Household.id == func.coalesce(Person.household_id,
                                                                Vehicle.household_id)))
    f = {k: (args.get(k) or "").strip() for k in
         ("q", "gate", "direction", "verdict", "reason", "since", "until", "building")}
    if f["q"]:
        like = f"%{f['q']}%"
        fields = [Person.name.like(like), Vehicle.plate.like(like.upper())]
        if not for_guard:
            fields.append(Person.phone.like(like))
        stmt = stmt.where(or_(*fields))
    if gate_id := filter_id(f["gate"]):
        stmt = stmt.where(Scan.gate_id == gate_id)
    if building_id := filter_id(f["building"]):
        stmt = stmt.where(Household.building_id == building_id)
    if f["direction"] in DIRECTIONS:
        stmt = stmt.where(Scan.direction == f["direction"])
    if f["verdict"] == "allowed":
        stmt = stmt.where(Scan.allowed)
    elif f["verdict"] == "denied":
        stmt = stmt.where(~Scan.allowed)
    if f["reason"] in REASONS and not (for_guard and f["reason"] in HEALTH_REASONS):
        stmt = stmt.where(Scan.reason == f["reason"])
    if since := community_time(f["since"]):
        stmt = stmt.where(Scan.scanned_at >= since)
    if until := community_time(f["until"]):
        stmt = stmt.where(Scan.scanned_at < until)
    return stmt.order_by(Scan.scanned_at.desc(), Scan.id.desc()), f
