"""The sub-district's day: one row of figures per community, every figure one grouped query.

A sub-district has 14-200 communities and years of scans. Each figure is a single
``SELECT community_id, count(*) ... GROUP BY community_id`` over all the communities at once,
on indexed columns (``app.district.indexes``), never a query per community: the page costs the
same dozen statements for two communities or two hundred. The three figures over big tables
(residents, active passes, today's scans) are kept and recounted every few minutes, with the
scans since added live (``app.district.counted``). "Today" is the local day of the service's
time zone
(``TIMEZONE``; the communities of one sub-district share a clock).

Health figures come from ``app.health.rollup`` (counts only: the sub-district sees how many,
never who).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func

from ..extensions import db
from ..health import rollup as health
from ..health.episodes import overdue_after
from ..models import Gate, GateDevice
from ..duty.guards import SESSION_MAX
from ..duty.models import DutySession, Shift
from ..services.dashboard import day_bounds
from . import counted


@dataclass
class CommunityDay:
    """One community's figures for the day (what a row of /district/ and the CSV show)."""

    community_id: int
    code: str
    name: str
    residents: int = 0  # people living here: residents and tenants
    passes: int = 0  # active passes
    in_quarantine: int = 0
    open_alerts: int = 0
    late_reports: int = 0  # people in quarantine whose report is overdue now
    registrations: int = 0  # self-registrations waiting for health staff
    scans: int = 0  # scans today, allowed or not
    denials: int = 0  # of which denied
    fevers: int = 0  # fever alerts opened today (gate or home)
    gates: int = 0
    gates_online: int = 0  # gates with a device heard from in the last GATE_ONLINE_MINUTES
    shifts: int = 0  # shifts running now
    shifts_staffed: int = 0  # of which a guard is signed on at the gate

    @property
    def gates_offline(self) -> int:
        return self.gates - self.gates_online

    @property
    def shifts_unstaffed(self) -> int:
        return self.shifts - self.shifts_staffed

    def worst_key(self) -> tuple:
        """What "worst" means, most urgent first: open alerts (a fever nobody has followed up),
        late temperature reports (people to call), gates offline (a gate checking blind),
        shifts with nobody signed on, then today's fevers and denials; ties by name."""
        return (-self.open_alerts, -self.late_reports, -self.gates_offline,
                -self.shifts_unstaffed, -self.fevers, -self.denials, self.name)


@dataclass
class Rollup:
    day: date
    at: datetime  # when it was counted (UTC)
    rows: list[CommunityDay]

    def total(self, figure: str) -> int:
        return sum(getattr(r, figure) for r in self.rows)


def _grouped(model, ids: list[int], *where, value=None) -> dict[int, int]:
    stmt = (db.select(model.community_id, value if value is not None else func.count())
            .where(model.community_id.in_(ids), *where).group_by(model.community_id))
    return {cid: int(n or 0) for cid, n in db.session.execute(stmt)}


def _gates_online(ids: list[int], now: datetime) -> dict[int, int]:
    """Gates with at least one enabled device that called in recently (every scanner fetches
    its snapshot every 30 s, so a few minutes of silence means the gate is off the network)."""
    since = now - timedelta(minutes=current_app.config["GATE_ONLINE_MINUTES"])
    return _grouped(GateDevice, ids, GateDevice.active.is_(True), GateDevice.last_seen_at >= since,
                    value=func.count(func.distinct(GateDevice.gate_id)))


def _shifts(ids: list[int], now: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Shifts running now, and those whose gate has a guard signed on (an open duty session
    no older than a shift can last, as ``app.duty.guards`` counts who is on duty)."""
    # A shift is cut from one day's pattern (gatepass.duty), so it began within the last day:
    # the lower bound keeps the scan to a day of the starts_at index, not weeks of shifts.
    running = (Shift.starts_at <= now, Shift.starts_at > now - timedelta(days=1),
               Shift.ends_at > now)
    staffed = (db.select(DutySession.id)
               .where(DutySession.gate_id == Shift.gate_id, DutySession.ended_at.is_(None),
                      DutySession.started_at > now - SESSION_MAX).exists())
    return _grouped(Shift, ids, *running), _grouped(Shift, ids, *running, staffed)


def counts(ids: list[int], now: datetime, tz: ZoneInfo,
           later=None) -> dict[str, dict[int, int]]:
    """Every figure as ``{figure: {community_id: n}}``; a community with none is absent
    (``later``: see ``counted.figures``)."""
    day = now.astimezone(tz).date()
    start, end = day_bounds(day, tz)
    shifts, staffed = _shifts(ids, now)
    return {
        **counted.figures(ids, day, start, end, now, later),  # residents, passes, scans, denials
        "in_quarantine": health.in_quarantine(ids),
        "open_alerts": health.open_alerts(ids),
        "late_reports": health.late_reports(ids, now, tz, overdue_after()),
        "registrations": health.registrations_waiting(ids),
        "fevers": health.fevers(ids, start, end),
        "gates": _grouped(Gate, ids),
        "gates_online": _gates_online(ids, now),
        "shifts": shifts,
        "shifts_staffed": staffed,
    }


def build(communities: Iterable, now: datetime | None = None, tz: ZoneInfo | None = None,
          later=None) -> Rollup:
    """The day of ``communities`` (rows with ``id``, ``code``, ``name``), worst first;
    ``later`` runs a stale count's recount after the page is sent (``counted.figures``)."""
    from ..config import community_tz
    now = now or datetime.now(timezone.utc)
    tz = tz or community_tz()
    rows = [CommunityDay(c.id, c.code, c.name) for c in communities]
    if rows:
        by_figure = counts([r.community_id for r in rows], now, tz, later)
        for row in rows:
            for figure, values in by_figure.items():
                setattr(row, figure, values.get(row.community_id, 0))
    rows.sort(key=CommunityDay.worst_key)
    return Rollup(day=now.astimezone(tz).date(), at=now, rows=rows)
