"""The scan log as the office and health staff search it: one query for pages, exports and CLI."""
from __future__ import annotations

from sqlalchemy import or_

from typing import Iterable

from gatepass.disclosure import FULL, HEALTH_REASONS, NEUTRAL_REASON, Disclosure
from gatepass.verdict import REASONS
from gatepass.wire import DIRECTIONS

from ..config import community_time, filter_id
from ..extensions import db
from ..models import Household, Pass, Person, Scan, Vehicle
from ..common.audit import record_view
from .buildings import building_by_name


#: Up to this many passes found by a search are written into the scan query as ids.
ID_LIST_MAX = 1000


def holder_pass_ids(q: str, view: Disclosure = FULL, building_id: int | None = None):
    """A subquery of the pass ids whose holder matches the search box (name, plate; phone
    only when ``view`` may search phones) and lives in ``building_id``: the scan log
    filters holders first, then scans by pass id (joining every scan to its holder before
    the ``LIKE`` took 5 seconds over 10 million scans, issue 18)."""
    people, cars = db.select(Person.id), db.select(Vehicle.id)
    if q:
        like = f"%{q}%"
        fields = [Person.name.like(like)]
        if view.phone_search:
            fields.append(Person.phone.like(like))
        people, cars = people.where(or_(*fields)), cars.where(Vehicle.plate.like(like.upper()))
    if building_id is not None:
        homes = db.select(Household.id).where(Household.building_id == building_id)
        people = people.where(Person.household_id.in_(homes))
        cars = cars.where(Vehicle.household_id.in_(homes))
    return db.select(Pass.id).where(or_(Pass.person_id.in_(people), Pass.vehicle_id.in_(cars)))


def _pass_filter(pass_ids):
    """``Scan.pass_id IN (...)``: the ids themselves when the search found a few (the
    database then reads those passes' scans by the ``pass_id`` index, whatever its estimate
    of the subquery), the subquery when it found many."""
    found = db.session.scalars(pass_ids.limit(ID_LIST_MAX + 1)).all()
    return Scan.pass_id.in_(found if len(found) <= ID_LIST_MAX else pass_ids)


def scan_query(args, view: Disclosure = FULL) -> tuple:
    """The scan-log query for the filters in ``args`` (a page's query string, the CLI's
    options) and the filters as read; shared by the page, its exports and ``scans export``.
    A query on ``scans`` alone (holders through ``holder_pass_ids``), newest first, so the
    database walks the ``scanned_at`` index and stops at a page.

    ``view``: what the reader may see. Without ``phone_search`` the search box matches
    names and plates only (a guard cannot look a resident up by phone); a health reason
    is no filter for a reader who may not see it, the neutral one selects them all."""
    stmt = db.select(Scan)
    f = {k: (args.get(k) or "").strip() for k in
         ("q", "gate", "direction", "verdict", "reason", "since", "until", "building",
          "building_name")}
    building_id = filter_id(f["building"])
    if building_id is None:
        building_id = building_by_name(f["building_name"])  # typed where there are too many
    if f["q"] or building_id is not None:
        stmt = stmt.where(_pass_filter(holder_pass_ids(f["q"], view, building_id)))
    if gate_id := filter_id(f["gate"]):
        stmt = stmt.where(Scan.gate_id == gate_id)
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
