"""The scan log as the office and health staff search it: one query for pages, exports and CLI."""
from __future__ import annotations

from sqlalchemy import func, or_

from typing import Iterable

from gatepass.disclosure import FULL, HEALTH_REASONS, NEUTRAL_REASON, Disclosure
from gatepass.verdict import REASONS
from gatepass.wire import DIRECTIONS

from ..config import community_time, filter_id
from ..extensions import db
from ..models import Household, Pass, Person, Scan, Vehicle
from ..common.audit import record_view


def scan_query(args, view: Disclosure = FULL) -> tuple:
    """The scan-log query for the filters in ``args`` (a page's query string, the CLI's
    options) and the filters as read; shared by the page, its exports and ``scans export``.

    ``view``: what the reader may see. Without ``phone_search`` the search box matches
    names and plates only (a guard cannot look a resident up by phone); a health reason
    is no filter for a reader who may not see it, the neutral one selects them all."""
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
        if view.phone_search:
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
    if f["reason"] == NEUTRAL_REASON:
        stmt = stmt.where(Scan.reason.in_(sorted(HEALTH_REASONS)))
    elif f["reason"] in REASONS and not view.hides(f["reason"]):
        stmt = stmt.where(Scan.reason == f["reason"])
    if since := community_time(f["since"]):
        stmt = stmt.where(Scan.scanned_at >= since)
    if until := community_time(f["until"]):
        stmt = stmt.where(Scan.scanned_at < until)
    return stmt.order_by(Scan.scanned_at.desc(), Scan.id.desc()), f


def shows_health(scan: Scan) -> bool:
    """Whether a scan-log row carries health data: a temperature or a health reason."""
    return scan.temperature is not None or bool(
        {scan.reason, scan.offline_reason} & HEALTH_REASONS)


def record_health_view(what: str, view: Disclosure, scans: Iterable[Scan] | None = None,
                       detail: str = "") -> None:
    """Write the health-view log when ``view`` lets the reader see health data and the
    rows shown hold some (``scans``; None for an export, whose rows are not known yet):
    the scan log is a health view for health staff like their own pages."""
    if not view.health:
        return
    if scans is not None:
        shown = [s for s in scans if shows_health(s)]
        if not shown:
            return
        detail = detail or f"{len(shown)} rows with health data"
    record_view(what, detail=detail)
