"""The gate logbook: record an event exactly once per nonce, search and export it.

The scanner (through ``POST /api/v1/events``) and the gate page both call
``record_event``; the nonce is unique per device for the scanner's outbox and
per user for the page, so a retried delivery or a double tap stores one row.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, or_
from sqlalchemy.exc import IntegrityError

from gatepass.logbook import EVENT_KINDS, EventError, clean_event, describe, kind_label
from gatepass.wire import scan_time_problem
from ..config import community_time, filter_id
from ..extensions import db
from ..models import Gate, GateDevice
from .models import GateEvent, Guard
from . import guards as duty
from ..common.errors import ServiceError

#: A logbook time this far ahead of the server's clock is a wrong clock, not the future.
FUTURE_SLACK = timedelta(minutes=5)


class LogbookError(ServiceError):
    """A logbook event that cannot be stored as sent."""


@dataclass
class EventRequest:
    nonce: str
    kind: str
    at: datetime
    note: str = ""
    fields: dict | None = None
    guard_id: int | None = None


def parse_event(data, parse_time) -> EventRequest:
    """An event from a JSON body (scanner or gate page); raises LogbookError (400)."""
    if not isinstance(data, dict):
        raise LogbookError("BAD_BODY", "请求内容须为 JSON 对象", "body must be a JSON object")
    nonce, kind, at, note = data.get("nonce"), data.get("kind"), data.get("at"), data.get("note", "")
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= 64:
        raise LogbookError("BAD_NONCE", "nonce 须为 1-64 个字符", "nonce must be a string of 1-64 characters")
    if kind not in EVENT_KINDS:
        raise LogbookError("BAD_KIND", "未知的登记类型",
                           f"kind must be one of {', '.join(EVENT_KINDS)}")
    if not isinstance(at, str):
        raise LogbookError("BAD_TIME", "缺少时间 at", "at must be an ISO-8601 string")
    try:
        when = parse_time(at)
    except ValueError:
        raise LogbookError("BAD_TIME", "时间格式不正确", f"at is not ISO-8601: {at[:40]!r}") from None
    problem = scan_time_problem(when, datetime.now(timezone.utc), "at")
    if problem:
        raise LogbookError("BAD_TIME", "时间不可信，请检查设备时钟", problem)
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise LogbookError("BAD_NOTE", "备注须为文字", "note must be a string")
    try:
        fields = clean_event(kind, data)
    except EventError as err:
        raise LogbookError("BAD_FIELD", f"填写有误：{err}", str(err)) from None
    return EventRequest(nonce=nonce, kind=kind, at=when, note=note.strip()[:500], fields=fields,
                        guard_id=duty.valid_guard_id(data.get("guard_id")))


def _existing(req: EventRequest, device: GateDevice | None, user_id: int | None):
    stmt = db.select(GateEvent).where(GateEvent.nonce == req.nonce)
    stmt = stmt.where(GateEvent.device_id == device.id) if device else \
        stmt.where(GateEvent.user_id == user_id, GateEvent.device_id.is_(None))
    return db.session.scalar(stmt)


def record_event(req: EventRequest, *, device: GateDevice | None = None,
                 user_id: int | None = None, gate: Gate | None = None) -> tuple[GateEvent, bool]:
    """Store one event; (event, created). The same nonce again returns the first event."""
    if device is None and user_id is None:
        raise LogbookError("NO_SOURCE", "缺少登记来源", "an event comes from a device or a user")
    found = _existing(req, device, user_id)
    if found is not None:
        return found, False
    now = datetime.now(timezone.utc)
    gate_id = device.gate_id if device else (gate.id if gate else None)
    if req.guard_id and not (gate_id and duty.was_on_duty(req.guard_id, gate_id, req.at)):
        raise LogbookError("GUARD_NOT_ON_DUTY", "该人员当时未在本门岗上岗",
                           "guard_id was not on duty at this gate at that time")
    guard_id = req.guard_id or duty.guard_on_duty(device, gate_id, now)
    event = GateEvent(nonce=req.nonce, kind=req.kind, gate_id=gate_id,
                      device_id=device.id if device else None,
                      user_id=None if device else user_id, guard_id=guard_id,
                      at=min(req.at, now + FUTURE_SLACK), received_at=now, note=req.note,
                      fields=req.fields or {})
    try:
        if device is not None:
            # The device row first, in every transaction: two deliveries of one nonce that
            # took the row and the nonce's index entry in opposite orders deadlocked.
            device.last_seen_at = now
            db.session.flush()
        db.session.add(event)
        db.session.commit()
    except IntegrityError:  # the same nonce won a race on another worker
        db.session.rollback()
        found = _existing(req, device, user_id)
        if found is None:
            raise
        return found, False
    return event, True


# -- reading it ----------------------------------------------------------------

def event_query(args) -> tuple:
    """The logbook query for the page's filters (kind, gate, guard, since, until, q)."""
    f = {k: (args.get(k) or "").strip() for k in ("kind", "gate", "guard", "since", "until", "q")}
    stmt = db.select(GateEvent)
    if f["kind"] in EVENT_KINDS:
        stmt = stmt.where(GateEvent.kind == f["kind"])
    if gate_id := filter_id(f["gate"]):
        stmt = stmt.where(GateEvent.gate_id == gate_id)
    if guard_id := filter_id(f["guard"]):
        stmt = stmt.where(GateEvent.guard_id == guard_id)
    if since := community_time(f["since"]):
        stmt = stmt.where(GateEvent.at >= since)
    if until := community_time(f["until"]):
        stmt = stmt.where(GateEvent.at < until)
    if f["q"]:
        # The fields are JSON text with non-ASCII escaped (\u738b...): search both spellings.
        escaped = json.dumps(f["q"])[1:-1].replace("\\", "\\\\")
        fields_text = cast(GateEvent.fields, String)
        stmt = stmt.where(or_(GateEvent.note.like(f"%{f['q']}%"),
                              fields_text.like(f"%{f['q']}%"),
                              fields_text.like(f"%{escaped}%", escape="\\")))
    return stmt.order_by(GateEvent.at.desc(), GateEvent.id.desc()), f


HEADERS = {"zh": ["时间", "门岗", "类型", "详情", "备注", "值班人员"],
           "en": ["time", "gate", "kind", "details", "note", "guard on duty"]}


def event_rows(stmt, tz: ZoneInfo, lang: str = "zh", local_text: bool = True) -> Iterator[list]:
    gates = dict(db.session.execute(db.select(Gate.id, Gate.name)).all())
    guards = dict(db.session.execute(db.select(Guard.id, Guard.name)).all())
    for e in db.session.scalars(stmt.execution_options(yield_per=2000)):
        at = e.at.astimezone(tz)
        yield [at.strftime("%Y-%m-%d %H:%M:%S") if local_text else at.replace(tzinfo=None, microsecond=0),
               gates.get(e.gate_id, ""), kind_label(e.kind, lang), describe(e.kind, e.fields, lang),
               e.note, guards.get(e.guard_id, "")]


def day_counts(start: datetime, end: datetime) -> dict[str, int]:
    rows = db.session.execute(db.select(GateEvent.kind, db.func.count()).where(
        GateEvent.at >= start, GateEvent.at < end).group_by(GateEvent.kind)).all()
    found = dict(rows)
    return {k: found.get(k, 0) for k in EVENT_KINDS}
