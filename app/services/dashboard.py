"""Figures for the office dashboard: one day's traffic, who is out, passes held.

Hours are bucketed in SQL against hour boundaries computed here in the community's
local time zone (a CASE over 24 bound instants reads the same on SQLite and PostgreSQL,
which disagree on date functions): a day of a large community is hundreds of thousands
of scans, and fetching them to bucket in Python took a second (issue 18). The chart
draws at most ``MAX_GATES`` gates, the quietest folded into one "other gates" series.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal

from ..extensions import db
from ..models import Gate, Pass, Scan
from gatepass.categories import CATEGORIES
from gatepass.disclosure import FULL, Disclosure
from gatepass.rules import OUTSIDE_TOO_LONG
from gatepass.status import PassStatus

DIRECTIONS = ("out", "in")
#: Gates drawn one by one; beyond that the quietest are one series (a chart of 443
#: gates drew 19,000 bars, and nobody reads a legend that long).
MAX_GATES = 8
OTHER_GATES = "其他门岗"
#: Out is warm, in is cool; each gate gets its own shade of the two.
SHADES = {"out": ("#d9731f", "#f2b27a", "#9c4a12", "#f7d3b0"),
          "in": ("#1f5fa8", "#7fa9dc", "#12396a", "#bcd3ef")}


def parse_day(value: str | None, tz: ZoneInfo) -> date:
    """The day asked for in ?day=YYYY-MM-DD, today if missing or nonsense."""
    today = datetime.now(tz).date()
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return today
    return min(day, today)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


@dataclass
class Series:
    gate_id: int | None
    gate: str
    direction: str
    colour: str
    hours: list[int] = field(default_factory=lambda: [0] * 24)


def hour_bucket(start: datetime, end: datetime):
    """A SQL expression: the hour of ``Scan.scanned_at`` counted from ``start`` (0..n-1),
    from bound instants, so the database needs no time-zone or date function."""
    hours = int((end - start).total_seconds() // 3600)
    whens = [(Scan.scanned_at < start + timedelta(hours=k), literal(k - 1))
             for k in range(1, hours)]
    return case(*whens, else_=literal(hours - 1)) if whens else literal(0)


def _hour_counts(start: datetime, end: datetime, tz: ZoneInfo) -> dict[tuple, list[int]]:
    """(gate_id, direction) -> allowed scans per local hour, counted by the database."""
    # Bucketed in a subquery and grouped outside: PostgreSQL would not see a GROUP BY
    # of the same CASE (with its own bound parameters) as the selected one.
    day = (db.select(Scan.gate_id, Scan.direction, hour_bucket(start, end).label("bucket"))
           .where(Scan.allowed, Scan.scanned_at >= start, Scan.scanned_at < end).subquery())
    rows = db.session.execute(
        db.select(day.c.gate_id, day.c.direction, day.c.bucket, func.count())
        .group_by(day.c.gate_id, day.c.direction, day.c.bucket)).all()
    counts: dict[tuple, list[int]] = {}
    for gate_id, direction, k, n in rows:
        hour = (start + timedelta(hours=int(k))).astimezone(tz).hour
        counts.setdefault((gate_id, direction), [0] * 24)[hour] += n
    return counts


def _drawn_gates(counts: dict[tuple, list[int]]) -> tuple[list[tuple], set]:
    """The gates drawn one by one (id order) and the ids folded into "other gates": all of
    them while there are at most ``MAX_GATES``, else the busiest ``MAX_GATES - 1``."""
    gates = [(g.id, g.name) for g in db.session.execute(
        db.select(Gate.id, Gate.name).order_by(Gate.id))]
    if any(gate_id is None for gate_id, _ in counts):
        gates.append((None, "?"))
    if len(gates) <= MAX_GATES:
        return gates, set()
    volume = {gid: sum(sum(h) for (g, _), h in counts.items() if g == gid) for gid, _ in gates}
    busiest = set(sorted(volume, key=lambda gid: -volume[gid])[:MAX_GATES - 1])
    return [g for g in gates if g[0] in busiest], {gid for gid, _ in gates} - busiest


def hourly(day: date, tz: ZoneInfo) -> list[Series]:
    """Allowed scans per gate, direction and local hour; one series per pair, the quietest
    gates of a large community added up in one series (``MAX_GATES``)."""
    start, end = day_bounds(day, tz)
    counts = _hour_counts(start, end, tz)
    gates, folded = _drawn_gates(counts)
    if folded:
        gates.append(("other", OTHER_GATES))
    series = {(gid, d): Series(gid if gid != "other" else None, name, d,
                               SHADES[d][i % len(SHADES[d])])
              for i, (gid, name) in enumerate(gates) for d in DIRECTIONS}
    for (gate_id, direction), hours in counts.items():
        s = series.get(("other" if gate_id in folded else gate_id, direction))
        if s is not None:
            s.hours = [a + b for a, b in zip(s.hours, hours)]
    return [series[(gid, d)] for d in DIRECTIONS for gid, _ in gates]


def denials(day: date, tz: ZoneInfo) -> list[tuple[str, int]]:
    start, end = day_bounds(day, tz)
    rows = db.session.execute(
        db.select(Scan.reason, func.count()).where(~Scan.allowed, Scan.scanned_at >= start,
                                                   Scan.scanned_at < end)
        .group_by(Scan.reason)).all()
    return sorted(((r, n) for r, n in rows), key=lambda rn: (-rn[1], rn[0]))


def recent(day: date, tz: ZoneInfo, limit: int = 10) -> list[Scan]:
    """The day's last scans, newest first (the dashboard's 最近通行)."""
    start, end = day_bounds(day, tz)
    return db.session.scalars(db.select(Scan).where(Scan.scanned_at >= start, Scan.scanned_at < end)
                              .order_by(Scan.scanned_at.desc()).limit(limit)).all()


def passes_by_category() -> list[dict]:
    """Rows of category with counts per status, in the office's category order."""
    counts: dict[str, Counter] = {}
    for category, status, n in db.session.execute(
            db.select(Pass.category, Pass.status, func.count())
            .group_by(Pass.category, Pass.status)):
        counts.setdefault(category, Counter())[status] += n
    order = list(CATEGORIES) + sorted(set(counts) - set(CATEGORIES))
    return [{"category": c, **{s.value: counts[c][s] for s in PassStatus},
             "total": sum(counts[c].values())}
            for c in order if c in counts]


def outside_now() -> dict:
    """Active passes whose last scan was going out: people and vehicles apart."""
    out = Pass.inside.is_(False), Pass.status == PassStatus.ACTIVE
    by_category = dict(db.session.execute(
        db.select(Pass.category, func.count()).where(*out).group_by(Pass.category)).all())
    long_out = db.session.scalar(db.select(func.count(Pass.id)).where(
        *out, Pass.last_scan_at < datetime.now(timezone.utc) - OUTSIDE_TOO_LONG))
    vehicles = by_category.pop("vehicle", 0)
    return {"people": sum(by_category.values()), "vehicles": vehicles, "long_out": long_out,
            "by_category": sorted(by_category.items(), key=lambda kv: -kv[1])}


# -- the hourly chart, laid out here so the template only draws ------------

@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    colour: str
    gate: str
    direction: str
    hour: int
    count: int


@dataclass
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    bars: list[Bar]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, int]]
    now_x: float | None
    legend: list[Series]


def nice_step(peak: int, ticks: int = 4) -> int:
    """1, 2 or 5 times a power of ten, so there are at most ``ticks`` gridlines."""
    raw = max(peak, 1) / ticks
    power = 1
    while power * 10 <= raw:
        power *= 10
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def hourly_chart(series: list[Series], now_hour: float | None = None,
                 width: int = 960, height: int = 300) -> Chart:
    """Two bars an hour (out, in), each stacked by gate."""
    left, right, top, bottom = 46, 10, 26, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.hours[h] for s in series if s.direction == d)
              for h in range(24) for d in DIRECTIONS]
    step = nice_step(max(totals, default=0))
    y_max = step * max(1, -(-max(totals, default=0) // step))
    scale = plot_h / y_max
    slot = plot_w / 24
    bar_w = slot * 0.36
    bars = []
    for h in range(24):
        for k, d in enumerate(DIRECTIONS):
            x = left + h * slot + slot * 0.12 + k * (bar_w + slot * 0.04)
            base = top + plot_h
            for s in series:
                n = s.hours[h] if s.direction == d else 0
                if n:
                    bar_h = n * scale
                    base -= bar_h
                    bars.append(Bar(round(x, 1), round(base, 1), round(bar_w, 1),
                                    round(bar_h, 1), s.colour, s.gate, d, h, n))
    y_ticks = [(round(top + plot_h - v * scale, 1), v) for v in range(0, y_max + 1, step)]
    x_ticks = [(round(left + h * slot + slot / 2, 1), h) for h in range(24)]
    now_x = round(left + now_hour * slot, 1) if now_hour is not None else None
    legend = [s for s in series if s.gate != "?" or any(s.hours)]
    return Chart(width, height, left, top, plot_w, plot_h, bars, y_ticks, x_ticks, now_x, legend)


@dataclass
class Board:
    day: date
    is_today: bool
    series: list[Series]
    chart: Chart
    entries: int
    exits: int
    denials: list[tuple[str, int]]
    denied: int
    outside: dict
    passes: list[dict]
    active_passes: int
    peaks: dict[str, int | None]
    #: The gate logbook's day: events per kind, and scattered compounds overdue for a check.
    logbook: dict[str, int] = field(default_factory=dict)
    places_overdue: int = 0
    on_duty: list[tuple[str, list[str]]] = field(default_factory=list)  # (gate, guards now)


def gate_duty(day: date, tz: ZoneInfo) -> tuple[dict[str, int], int, list]:
    from ..duty import guards as duty, logbook, places
    start, end = day_bounds(day, tz)
    names = duty.on_duty_names()  # one query for every gate, not one per gate
    on_duty = [(name, names.get(gid, [])) for gid, name in db.session.execute(
        db.select(Gate.id, Gate.name).order_by(Gate.id))]
    return (logbook.day_counts(start, end), sum(1 for s in places.schedule() if s.overdue),
            on_duty)


def build(day: date, tz: ZoneInfo, view: Disclosure = FULL) -> Board:
    """The dashboard of ``day``; denial reasons as ``view`` may see them (health reasons
    added up under the neutral one for anyone but health staff)."""
    now = datetime.now(tz)
    is_today = day == now.date()
    series = hourly(day, tz)
    refused = view.fold(denials(day, tz))
    passes = passes_by_category()
    per_dir = {d: [sum(s.hours[h] for s in series if s.direction == d) for h in range(24)]
               for d in DIRECTIONS}
    peaks = {d: (max(range(24), key=lambda h: per_dir[d][h]) if any(per_dir[d]) else None)
             for d in DIRECTIONS}
    return Board(day=day, is_today=is_today, series=series,
                 chart=hourly_chart(series, now.hour + now.minute / 60 if is_today else None),
                 entries=sum(per_dir["in"]), exits=sum(per_dir["out"]),
                 denials=refused, denied=sum(n for _, n in refused), outside=outside_now(),
                 passes=passes, active_passes=sum(r[PassStatus.ACTIVE] for r in passes), peaks=peaks,
                 **dict(zip(("logbook", "places_overdue", "on_duty"), gate_duty(day, tz))))
