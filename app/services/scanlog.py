"""The scan log as the office and health staff search it: one query for pages, exports and CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_

from gatepass.verdict import REASONS
from gatepass.wire import DIRECTIONS

from ..config import community_tz
from ..extensions import db
from ..models import Household, Pass, Person, Scan, Vehicle


def _parse_local(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=community_tz())


def scan_query(args) -> tuple:
    """The scan-log query for the filters in ``args`` (a page's query string, the CLI's
    options) and the filters as read; shared by the page, its exports and ``scans export``."""
    stmt = (db.select(Scan).outerjoin(Pass, Scan.pass_id == Pass.id)
            .outerjoin(Person, Pass.person_id == Person.id)
            .outerjoin(Vehicle, Pass.vehicle_id == Vehicle.id)
            .outerjoin(Household, Household.id == func.coalesce(Person.household_id,
                                                                Vehicle.household_id)))
    f = {k: (args.get(k) or "").strip() for k in
         ("q", "gate", "direction", "verdict", "reason", "since", "until", "building")}
    if f["q"]:
        like = f"%{f['q']}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.phone.like(like),
                              Vehicle.plate.like(like.upper())))
    if f["gate"].isdigit():
        stmt = stmt.where(Scan.gate_id == int(f["gate"]))
    if f["building"].isdigit():
        stmt = stmt.where(Household.building_id == int(f["building"]))
    if f["direction"] in DIRECTIONS:
        stmt = stmt.where(Scan.direction == f["direction"])
    if f["verdict"] == "allowed":
        stmt = stmt.where(Scan.allowed)
    elif f["verdict"] == "denied":
        stmt = stmt.where(~Scan.allowed)
    if f["reason"] in REASONS:
        stmt = stmt.where(Scan.reason == f["reason"])
    if since := _parse_local(f["since"]):
        stmt = stmt.where(Scan.scanned_at >= since)
    if until := _parse_local(f["until"]):
        stmt = stmt.where(Scan.scanned_at < until)
    return stmt.order_by(Scan.scanned_at.desc(), Scan.id.desc()), f
