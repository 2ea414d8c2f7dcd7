"""The three figures too big to count on every view, counted every few minutes and kept.

Residents and active passes are a count over every person and pass (a million rows for 200
communities), and today's scans a count over today's part of the scan log (333,000 rows a day
at 10 M scans a month): about a second together on PostgreSQL, where the page has 300 ms.
So each community's ``DistrictCount`` row for the day keeps them, recounted when older than
``DISTRICT_RECOUNT_SECONDS`` (300) after the view that finds it so has sent its page (the
day's first view counts before it answers: it has nothing else to show); and scans stay live:
the row remembers the last scan id it counted, and every view adds the scans after it (a short
range of the primary key). A scan whose transaction committed after the recount with an id
below that mark is added at the next recount, within those minutes. Residents and passes
(changed by a roster import, a few times a week) show as of the recount.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from flask import current_app
from sqlalchemy import Date, UniqueConstraint, case, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gatepass.categories import HOUSEHOLD_CATEGORIES
from gatepass.status import PassStatus
from ..extensions import db
from ..models import Pass, Person, Scan
from ..models.base import CommunityOwned, UTCDateTime


class DistrictCount(CommunityOwned, db.Model):
    """One community's big counts on one local day, and when they were counted."""

    __tablename__ = "district_counts"
    __table_args__ = (UniqueConstraint("community_id", "day", name="uq_district_counts_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    residents: Mapped[int] = mapped_column(default=0)
    passes: Mapped[int] = mapped_column(default=0)
    scans: Mapped[int] = mapped_column(default=0)  # of the day, up to and with last_scan_id
    denials: Mapped[int] = mapped_column(default=0)
    last_scan_id: Mapped[int] = mapped_column(default=0)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _grouped(stmt) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in db.session.execute(stmt)}


def _scans(ids: list[int], start: datetime, end: datetime, after_id: int = 0,
           up_to_id: int | None = None) -> dict[int, tuple]:
    """(scans, denials) per community in [start, end) with ids in (after_id, up_to_id]."""
    stmt = (db.select(Scan.community_id, func.count(),
                      func.sum(case((Scan.allowed.is_(False), 1), else_=0)))
            .where(Scan.community_id.in_(ids), Scan.scanned_at >= start, Scan.scanned_at < end)
            .group_by(Scan.community_id))
    if after_id:
        stmt = stmt.where(Scan.id > after_id)
    if up_to_id is not None:
        stmt = stmt.where(Scan.id <= up_to_id)
    return _grouped(stmt)


def recount(ids: list[int], day: date, start: datetime, end: datetime, now: datetime) -> None:
    """Count the three figures of ``ids`` again and keep them (the caller commits)."""
    mark = db.session.scalar(db.select(func.max(Scan.id))) or 0
    residents = _grouped(db.select(Person.community_id, func.count())
                         .where(Person.community_id.in_(ids),
                                Person.category.in_(HOUSEHOLD_CATEGORIES))
                         .group_by(Person.community_id))
    passes = _grouped(db.select(Pass.community_id, func.count())
                      .where(Pass.community_id.in_(ids), Pass.status == PassStatus.ACTIVE.value)
                      .group_by(Pass.community_id))
    scans = _scans(ids, start, end, up_to_id=mark)
    rows = {r.community_id: r for r in db.session.scalars(
        db.select(DistrictCount).where(DistrictCount.community_id.in_(ids),
                                       DistrictCount.day == day))}
    for cid in ids:
        row = rows.get(cid) or DistrictCount(community_id=cid, day=day)
        row.residents = residents.get(cid, (0,))[0]
        row.passes = passes.get(cid, (0,))[0]
        row.scans, row.denials = (int(n or 0) for n in scans.get(cid, (0, 0)))
        row.last_scan_id, row.counted_at = mark, now
        db.session.add(row)
    db.session.flush()


def _kept(ids: list[int], day: date) -> dict[int, DistrictCount]:
    return {r.community_id: r for r in db.session.scalars(
        db.select(DistrictCount).where(DistrictCount.community_id.in_(ids),
                                       DistrictCount.day == day))}


def recount_now(ids: list[int], day: date, start: datetime, end: datetime,
                now: datetime) -> None:
    """``recount`` and commit; a worker that counted the same first row of the day just now
    wins (its counts are as good)."""
    try:
        recount(ids, day, start, end, now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def figures(ids: Iterable[int], day: date, start: datetime, end: datetime, now: datetime,
            later: Callable[[Callable[[], None]], None] | None = None) -> dict[str, dict[int, int]]:
    """Residents, passes, scans and denials of ``day`` per community: the kept counts plus the
    scans since each. A community not yet counted today is counted now; a stale count is
    recounted by ``later`` when given (the page: after its answer is sent, so no reader waits
    for it), else now."""
    ids = list(ids)
    if not ids:
        return {k: {} for k in ("residents", "passes", "scans", "denials")}
    kept = _kept(ids, day)
    missing = [cid for cid in ids if cid not in kept]
    if missing:  # the day's first view: nothing to show without counting
        recount_now(missing, day, start, end, now)
        kept.update(_kept(missing, day))
    fresh_after = now - timedelta(seconds=current_app.config["DISTRICT_RECOUNT_SECONDS"])
    stale = [cid for cid, row in kept.items() if row.counted_at < fresh_after]
    if stale and later is not None:
        later(lambda: recount_now(stale, day, start, end, now))
    elif stale:
        recount_now(stale, day, start, end, now)
        kept.update(_kept(stale, day))
    out = {"residents": {}, "passes": {}, "scans": {}, "denials": {}}
    for cid, row in kept.items():
        out["residents"][cid], out["passes"][cid] = row.residents, row.passes
        out["scans"][cid], out["denials"][cid] = row.scans, row.denials
    for mark in {row.last_scan_id for row in kept.values()}:  # one mark unless counted apart
        group = [cid for cid, row in kept.items() if row.last_scan_id == mark]
        for cid, (n, denied) in _scans(group, start, end, after_id=mark).items():
            out["scans"][cid] += n
            out["denials"][cid] += int(denied or 0)
    return out
