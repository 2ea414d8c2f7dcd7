"""Guards on duty: PINs, sign-on and sign-off, shifts for a week, handover drafts.

Every scan and logbook event records the guard on duty. A scanner says who
signed on at it (``guard_id``); when it does not, the guard most recently
signed on at that device's gate is taken. At sign-off the service drafts the
handover (交接班) from the gate's own records, the guard adds a note, and the
next guard to sign on at that gate is shown it.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, select

from gatepass import duty as rules
from ..config import community_tz
from ..extensions import db
from .models import DutySession, GateEvent, Guard, Handover, Shift, ShiftAssignment, ShiftPattern
from ..models import Gate, GateDevice, Scan
from ..common.errors import NotFound, ServiceError

#: An open session older than this is a guard who forgot to sign off, not one on duty.
SESSION_MAX = timedelta(hours=14)
#: A handover older than this is not shown to the next guard as "the last shift".
HANDOVER_FRESH = timedelta(hours=24)
PIN_TRIES, PIN_WINDOW = 5, timedelta(minutes=5)
#: Wrong PINs from every scanner and gate-page login together. A wrong PIN names no guard
#: (PINs are unique), so "per guard" is one budget for all of them: three scanners and
#: three logins no longer get 5 tries each. A guard locked out signs on with their login.
PIN_TRIES_ALL, PIN_ALL_KEY = 15, "all"
#: How far a stamped time may lie outside the guard's session (clocks, a late tap).
DUTY_SLACK = timedelta(minutes=5)


class DutyError(ServiceError):
    """A duty request that cannot be done as asked."""


class WrongPin(DutyError):
    status = 403


class NotOnDuty(DutyError):
    """Signing off, or stamping, a guard who is not on duty at that gate."""
    status = 403


# -- guards and PINs -----------------------------------------------------------

def pin_hash(pin: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"guard-pin:{pin}".encode(), hashlib.sha256).hexdigest()


def set_pin(guard: Guard, pin: str) -> None:
    if not rules.PIN_RE.match(pin or ""):
        raise DutyError("BAD_PIN", "PIN 须为 4-8 位数字", "a PIN is 4-8 digits")
    h = pin_hash(pin)
    other = db.session.scalar(db.select(Guard).where(Guard.pin_hash == h, Guard.id != guard.id))
    if other is not None:
        raise DutyError("PIN_TAKEN", "该 PIN 已被他人使用，请换一个", "that PIN is taken: choose another")
    guard.pin_hash = h


def add_guard(name: str, kind: str = "guard", team: str | None = None, phone: str = "",
              pin: str | None = None, user_id: int | None = None) -> Guard:
    name = (name or "").strip()
    if not name:
        raise DutyError("NO_NAME", "请填写姓名", "a name is required")
    if kind not in rules.GUARD_KINDS:
        raise DutyError("BAD_KIND", "类型须为门岗或志愿者", "kind is guard or volunteer")
    if team and team not in rules.TEAMS:
        raise DutyError("BAD_TEAM", "班组须为 A-D", "team is A-D")
    guard = Guard(name=name[:60], kind=kind, team=team or None, phone=(phone or "")[:20],
                  user_id=user_id)
    db.session.add(guard)
    if pin:
        set_pin(guard, pin)
    db.session.flush()
    return guard


def guards(active_only: bool = True) -> list[Guard]:
    stmt = db.select(Guard).order_by(Guard.team, Guard.name)
    if active_only:
        stmt = stmt.where(Guard.active)
    return list(db.session.scalars(stmt))


def guard_for_pin(pin: str) -> Guard | None:
    if not isinstance(pin, str) or not rules.PIN_RE.match(pin):
        return None
    g = db.session.scalar(db.select(Guard).where(Guard.pin_hash == pin_hash(pin)))
    return g if g and g.active else None


def guard_for_user(user_id: int) -> Guard | None:
    return db.session.scalar(db.select(Guard).where(Guard.user_id == user_id, Guard.active))


def usual_gate(guard: Guard | None) -> int | None:
    """The gate a guard's login opens: where they are on duty now, else where they signed
    on last (a guard works one gate; a tablet at that gate is where they log in)."""
    if guard is None:
        return None
    return db.session.scalar(db.select(DutySession.gate_id).where(DutySession.guard_id == guard.id)
                             .order_by(DutySession.ended_at.is_(None).desc(),
                                       DutySession.started_at.desc()).limit(1))


# -- who is on duty ------------------------------------------------------------

def _open_sessions(now: datetime):
    return (db.select(DutySession).where(DutySession.ended_at.is_(None),
                                         DutySession.started_at > now - SESSION_MAX)
            .order_by(DutySession.started_at.desc(), DutySession.id.desc()))


def on_duty(gate_id: int, now: datetime | None = None) -> list[DutySession]:
    now = now or datetime.now(timezone.utc)
    return list(db.session.scalars(_open_sessions(now).where(DutySession.gate_id == gate_id)))


def on_duty_names(now: datetime | None = None) -> dict[int, list[str]]:
    """Gate id -> names of the guards signed on there now, newest first: the dashboard's
    "on duty" line in one query for every gate (it was one query per gate)."""
    now = now or datetime.now(timezone.utc)
    rows = db.session.execute(
        db.select(DutySession.gate_id, Guard.name).join(Guard, DutySession.guard_id == Guard.id)
        .where(DutySession.ended_at.is_(None), DutySession.started_at > now - SESSION_MAX)
        .order_by(DutySession.started_at.desc(), DutySession.id.desc()))
    names: dict[int, list[str]] = {}
    for gate_id, name in rows:
        names.setdefault(gate_id, []).append(name)
    return names


def guard_on_duty(device: GateDevice | None, gate_id: int | None,
                  now: datetime | None = None) -> int | None:
    """The guard a scan or event is stamped with when the scanner did not say."""
    now = now or datetime.now(timezone.utc)
    if device is not None:
        gate_id = device.gate_id
    if gate_id is None:
        return None
    return db.session.execute(GUARD_ON_DUTY, {"b_gate": gate_id, "b_since": now - SESSION_MAX,
                                              "b_device": device.id if device else -1}
                              ).scalar()


def _guard_on_duty_query():
    """Every scan asks, so one prebuilt Core query: the guard signed on at this device, else
    the latest signed on at its gate."""
    t = DutySession.__table__
    return (select(t.c.guard_id)
            .where(t.c.ended_at.is_(None), t.c.started_at > bindparam("b_since"),
                   t.c.gate_id == bindparam("b_gate"))
            .order_by((t.c.device_id == bindparam("b_device")).desc(), t.c.started_at.desc(),
                      t.c.id.desc())
            .limit(1))


GUARD_ON_DUTY = _guard_on_duty_query()


def was_on_duty(guard_id: int, gate_id: int, at: datetime) -> bool:
    """Whether the guard had a duty session at this gate at ``at`` (a scan or event
    delivered late from a scanner's outbox keeps the guard who was on duty then)."""
    return db.session.scalar(db.select(DutySession.id).where(
        DutySession.guard_id == guard_id, DutySession.gate_id == gate_id,
        DutySession.started_at <= at + DUTY_SLACK,
        db.or_(DutySession.ended_at.is_(None), DutySession.ended_at >= at - DUTY_SLACK)
    ).limit(1)) is not None


def valid_guard_id(value) -> int | None:
    """A guard id from the wire, if it names a guard; else None (the service picks)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        return None  # (a 64-bit id would overflow the database's integer)
    return value if db.session.get(Guard, value) is not None else None


def current_shift(gate_id: int, now: datetime, guard_id: int | None = None) -> Shift | None:
    stmt = db.select(Shift).where(Shift.gate_id == gate_id, Shift.starts_at <= now,
                                  Shift.ends_at > now).order_by(Shift.starts_at)
    found = list(db.session.scalars(stmt))
    for s in found:
        if guard_id and any(a.guard_id == guard_id for a in s.assignments):
            return s
    return found[0] if found else None


def last_handover(gate_id: int, now: datetime, not_by: int | None = None) -> Handover | None:
    stmt = (db.select(Handover).where(Handover.gate_id == gate_id,
                                      Handover.period_end > now - HANDOVER_FRESH)
            .order_by(Handover.period_end.desc(), Handover.id.desc()))
    if not_by is not None:
        stmt = stmt.where(Handover.guard_id != not_by)
    return db.session.scalar(stmt)


def sign_on(guard: Guard, gate: Gate, device: GateDevice | None = None, via: str = "pin",
            now: datetime | None = None) -> tuple[DutySession, Handover | None]:
    """Open a duty session (closing the guard's others) and return the handover to read."""
    now = now or datetime.now(timezone.utc)
    for s in db.session.scalars(db.select(DutySession).where(
            DutySession.guard_id == guard.id, DutySession.ended_at.is_(None))):
        s.ended_at = now
    shift = current_shift(gate.id, now, guard.id)
    session = DutySession(guard_id=guard.id, gate_id=gate.id,
                          device_id=device.id if device else None,
                          shift_id=shift.id if shift else None, via=via, started_at=now)
    db.session.add(session)
    handover = last_handover(gate.id, now, not_by=guard.id)
    if handover is not None and handover.seen_at is None:
        handover.seen_by, handover.seen_at = guard.id, now
    db.session.flush()
    return session, handover


def check_pin(pin: str, key: str, now: datetime | None = None) -> Guard:
    """The guard whose PIN this is. A wrong PIN is refused and counted against ``key`` (one
    scanner or login: 5 per 5 minutes) and against all of them together (PIN_TRIES_ALL)."""
    from ..common import ratelimit
    now = now or datetime.now(timezone.utc)
    if ratelimit.too_many("pin", key, PIN_TRIES, PIN_WINDOW, now) or \
            ratelimit.too_many("pin", PIN_ALL_KEY, PIN_TRIES_ALL, PIN_WINDOW, now):
        raise WrongPin("TOO_MANY_TRIES", "PIN 错误次数过多，请 5 分钟后再试",
                       "too many wrong PINs: wait 5 minutes")
    guard = guard_for_pin(pin)
    if guard is None:
        ratelimit.count("pin", key, now)
        ratelimit.count("pin", PIN_ALL_KEY, now)
        db.session.commit()  # the failed try must count even though we refuse
        raise WrongPin("WRONG_PIN", "PIN 不正确", "wrong PIN")
    return guard


def sign_on_pin(device: GateDevice, pin: str, now: datetime | None = None):
    """Sign on at a scanner by PIN (check_pin counts wrong ones)."""
    guard = check_pin(pin, f"device:{device.id}", now)
    return (guard, *sign_on(guard, device.gate, device, "pin", now))


def _open_session_at(guard_id: int, gate_id: int) -> DutySession | None:
    return db.session.scalar(db.select(DutySession).where(
        DutySession.guard_id == guard_id, DutySession.gate_id == gate_id,
        DutySession.ended_at.is_(None)).order_by(DutySession.started_at.desc()).limit(1))


def check_sign_off(guard: Guard, gate: Gate, me: Guard | None = None,
                   anyone: bool = False) -> None:
    """Refuse (403) a sign-off nobody at the gate may do. The office (``anyone``) signs off
    any guard; otherwise the guard must be on duty at this gate, and a gate-page login
    signs off itself or a guard who signed on there by PIN (a shared tablet), never
    another guard's own login. A scanner (``me`` None) signs off its gate's guards."""
    if anyone:
        return
    session = _open_session_at(guard.id, gate.id)
    if session is None:
        raise NotOnDuty("NOT_ON_DUTY", f"{guard.name} 未在{gate.name}上岗，无法交班",
                        f"{guard.name} is not on duty at {gate.name}")
    if me is not None and me.id != guard.id and session.via != "pin":
        raise NotOnDuty("NOT_YOURS", "只能为自己交班，或请办公室处理",
                        "you may sign off only yourself: ask the office")


def _waiting_upload(gate_id: int, given: int | None) -> int | None:
    """Scans not yet uploaded at the gate: what the scanner said, else what its devices
    last reported in X-Outbox-Waiting (stored on the device row when that column exists)."""
    if given is not None:
        return given
    devices = db.session.scalars(db.select(GateDevice).where(GateDevice.gate_id == gate_id,
                                                             GateDevice.active)).all()
    values = [getattr(d, "outbox_waiting", None) for d in devices]
    values = [v for v in values if isinstance(v, int)]
    return sum(values) if values else None


def draft_summary(gate_id: int, start: datetime, end: datetime,
                  waiting_upload: int | None = None) -> dict:
    scans = db.session.execute(db.select(Scan.allowed, Scan.reason, Scan.direction,
                                         Scan.temperature)
                               .where(Scan.gate_id == gate_id, Scan.scanned_at >= start,
                                      Scan.scanned_at < end)).all()
    events = db.session.scalars(db.select(GateEvent.kind).where(
        GateEvent.gate_id == gate_id, GateEvent.at >= start, GateEvent.at < end)).all()
    return rules.handover_summary([tuple(r) for r in scans], list(events),
                                  current_app.config["FEVER_THRESHOLD"],
                                  _waiting_upload(gate_id, waiting_upload))


def sign_off(guard: Guard, gate: Gate | None, note: str = "", waiting_upload: int | None = None,
             now: datetime | None = None) -> Handover:
    """End the guard's session and store the handover: the draft plus the guard's note."""
    now = now or datetime.now(timezone.utc)
    stmt = db.select(DutySession).where(DutySession.guard_id == guard.id,
                                        DutySession.ended_at.is_(None))
    if gate is not None:
        stmt = stmt.where(DutySession.gate_id == gate.id)
    session = db.session.scalar(stmt.order_by(DutySession.started_at.desc()))
    if session is not None:
        gate = session.gate
        start = session.started_at
        session.ended_at = now
    elif gate is not None:
        prev = last_handover(gate.id, now)
        start = max(prev.period_end if prev else now - timedelta(hours=12), now - timedelta(hours=12))
    else:
        raise DutyError("NOT_ON_DUTY", "该门岗人员未上岗", "this guard is not signed on")
    start = min(start, now)
    handover = Handover(gate_id=gate.id, guard_id=guard.id,
                        session_id=session.id if session else None, period_start=start,
                        period_end=now, note=(note or "").strip()[:2000],
                        summary=draft_summary(gate.id, start, now, waiting_upload))
    db.session.add(handover)
    db.session.flush()
    return handover


def handover_json(h: Handover | None) -> dict | None:
    if h is None:
        return None
    return {"id": h.id, "from": h.guard.name, "at": h.period_end.isoformat(),
            "summary": h.summary, "note": h.note}


def shift_json(s: Shift | None) -> dict | None:
    if s is None:
        return None
    return {"id": s.id, "name": s.name, "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat()}


# -- patterns, shifts, the week ------------------------------------------------

def set_pattern(gate: Gate, kind: str, custom: str = "", anchor: date | None = None) -> ShiftPattern:
    if kind not in rules.PATTERNS:
        raise DutyError("BAD_PATTERN", "排班方式不正确", f"pattern is one of {', '.join(rules.PATTERNS)}")
    if kind == "custom":
        try:
            rules.parse_custom(custom)
        except ValueError as err:
            raise DutyError("BAD_SHIFTS", f"班次格式不正确：{err}（如 08:00-20:00,20:00-08:00）",
                            str(err)) from None
    row = db.session.scalar(db.select(ShiftPattern).where(ShiftPattern.gate_id == gate.id)) \
        or ShiftPattern(gate_id=gate.id)
    row.kind, row.custom = kind, (custom or "").strip() if kind == "custom" else ""
    row.anchor = anchor or row.anchor or rules.week_start(datetime.now(community_tz()).date())
    db.session.add(row)
    db.session.flush()
    return row


def pattern_for(gate: Gate) -> ShiftPattern | None:
    return db.session.scalar(db.select(ShiftPattern).where(ShiftPattern.gate_id == gate.id))


def plan_week(gate: Gate, monday: date) -> list[Shift]:
    """Make the week's shifts from the gate's pattern (kept if already made); a rotating
    team's shift is staffed with that team's guards."""
    pattern = pattern_for(gate)
    if pattern is None:
        raise DutyError("NO_PATTERN", f"{gate.name} 尚未设置排班方式", f"{gate.name} has no shift pattern")
    tz = community_tz()
    existing = {s.starts_at: s for s in db.session.scalars(db.select(Shift).where(
        Shift.gate_id == gate.id, Shift.starts_at >= _utc(monday, tz),
        Shift.starts_at < _utc(monday + timedelta(days=7), tz)))}
    team_members = {}
    for g in guards():
        if g.team:
            team_members.setdefault(g.team, []).append(g)
    out = []
    for day in rules.week_days(monday):
        for slot in rules.day_slots(pattern.kind, day, tz, pattern.custom, pattern.anchor):
            start = slot.starts_at.astimezone(timezone.utc)
            shift = existing.get(start)
            if shift is None:
                shift = Shift(gate_id=gate.id, name=slot.name, team=slot.team, starts_at=start,
                              ends_at=slot.ends_at.astimezone(timezone.utc))
                db.session.add(shift)
                for g in team_members.get(slot.team, []) if slot.team else []:
                    shift.assignments.append(ShiftAssignment(guard=g))
            out.append(shift)
    db.session.flush()
    return out


def _utc(day: date, tz) -> datetime:
    return datetime.combine(day, datetime.min.time(), tz).astimezone(timezone.utc)


def assign(shift_id: int, guard_id: int) -> ShiftAssignment:
    shift = db.session.get(Shift, shift_id)
    guard = db.session.get(Guard, guard_id)
    if shift is None or guard is None:
        raise NotFound("NO_SHIFT", "没有这个班次或人员", "no such shift or guard")
    for a in shift.assignments:
        if a.guard_id == guard_id:
            return a
    a = ShiftAssignment(shift=shift, guard=guard)
    db.session.add(a)
    db.session.flush()
    return a


def unassign(shift_id: int, guard_id: int) -> None:
    db.session.execute(db.delete(ShiftAssignment).where(ShiftAssignment.shift_id == shift_id,
                                                        ShiftAssignment.guard_id == guard_id))


def week(monday: date, gate_ids: list[int] | None = None) -> list[dict]:
    """Per gate: the pattern and, per day, its shifts with who is on them."""
    tz = community_tz()
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    out = []
    for gate in gates:
        if gate_ids and gate.id not in gate_ids:
            continue
        shifts = db.session.scalars(db.select(Shift).where(
            Shift.gate_id == gate.id, Shift.starts_at >= _utc(monday, tz),
            Shift.starts_at < _utc(monday + timedelta(days=7), tz)).order_by(Shift.starts_at)).all()
        days = {d: [] for d in rules.week_days(monday)}
        for s in shifts:
            days.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
        out.append({"gate": gate, "pattern": pattern_for(gate), "days": days})
    return out


def purge(cutoff: datetime) -> dict[str, int]:
    """Delete the logbook, spot checks, handovers and ended duty sessions from before
    ``cutoff`` (visitors' names and phones are personal data: kept only as long as the
    lockdown needs them), and every rate-limit count older than a day."""
    from ..models import RateHit
    from .models import SpotCheck
    counts = {}
    for label, model, column in (("events", GateEvent, GateEvent.at),
                                 ("spot_checks", SpotCheck, SpotCheck.at),
                                 ("handovers", Handover, Handover.period_end)):
        counts[label] = db.session.execute(db.delete(model).where(column < cutoff)).rowcount
    referenced = db.select(Handover.session_id).where(Handover.session_id.is_not(None))
    counts["sessions"] = db.session.execute(db.delete(DutySession).where(
        DutySession.ended_at < cutoff, DutySession.id.not_in(referenced))).rowcount
    db.session.execute(db.delete(RateHit).where(
        RateHit.at < datetime.now(timezone.utc) - timedelta(days=1)))
    return counts
