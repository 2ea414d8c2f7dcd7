"""Scattered compounds (places without a gate) and the spot checks made there.

A spot check is a staff member's visit, with the pass they checked if any;
the phone queues checks while it has no network and sends them later, so a
check is stored exactly once per (user, nonce) and says when it happened,
not when it arrived.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError

from gatepass import duty as rules
from gatepass.tokens import issue_static
from gatepass.verdict import verify
from ..extensions import db
from ..models import Pass
from .models import Place, SpotCheck
from ..services.checkin import gate_context
from ..common.errors import ServiceError, must_exist
from ..services.keys import key_ring, verifying_ring

FUTURE_SLACK = timedelta(minutes=5)


class PlaceError(ServiceError):
    """A place or spot check that cannot be stored as given."""


def add_place(name: str, address: str = "", every_hours: int = 4) -> Place:
    name = (name or "").strip()
    if not name:
        raise PlaceError("NO_NAME", "请填写名称", "a name is required")
    if not isinstance(every_hours, int) or not 1 <= every_hours <= 168:
        raise PlaceError("BAD_HOURS", "巡查间隔须为 1-168 小时", "check every 1-168 hours")
    if db.session.scalar(db.select(Place).where(Place.name == name)):
        raise PlaceError("PLACE_EXISTS", "已有同名地点", "a place with that name exists")
    place = Place(name=name[:60], address=(address or "").strip()[:120], check_every_hours=every_hours)
    db.session.add(place)
    db.session.flush()
    return place


@dataclass
class PlaceStatus:
    place: Place
    due_at: datetime | None
    overdue: bool


def schedule(now: datetime | None = None) -> list[PlaceStatus]:
    """Every active place with its next check; overdue ones first."""
    now = now or datetime.now(timezone.utc)
    out = [PlaceStatus(p, rules.check_due(p.last_check_at, p.check_every_hours, now),
                       rules.is_overdue(p.last_check_at, p.check_every_hours, now))
           for p in db.session.scalars(db.select(Place).where(Place.active).order_by(Place.id))]
    return sorted(out, key=lambda s: (not s.overdue, s.due_at or datetime.min.replace(tzinfo=timezone.utc)))


@dataclass
class CheckRequest:
    nonce: str
    place_id: int
    at: datetime
    text: str = ""  # the QR's text, or a typed pass code, or "" for a visit without a pass
    note: str = ""


def _token_for(text: str) -> tuple[str, bool]:
    """(token, typed): a typed pass code (P000123-2) becomes the token of the card that pass was
    last printed as, signed with the key that card carries when it is known, so the code of a
    card whose key is retired reads KEY_RETIRED like its QR (not a fresh, valid signature); a
    wrong serial is still SUPERSEDED. ``typed``: judged by number only (codes are sequential
    and guessable), which the page says, asking to compare the holder's ID."""
    code = rules.parse_pass_code(text)
    if code is None:
        return text, False
    p = db.session.get(Pass, code[0])
    ring = key_ring(p.community_id if p is not None else None)
    printed = ring.get(p.printed_kid) if p is not None and p.printed_kid else None
    return issue_static(ring, *code, key=printed), True


def _existing(user_id: int, nonce: str) -> SpotCheck | None:
    return db.session.scalar(db.select(SpotCheck).where(SpotCheck.user_id == user_id,
                                                        SpotCheck.nonce == nonce))


def record_check(req: CheckRequest, user_id: int) -> tuple[SpotCheck, bool]:
    found = _existing(user_id, req.nonce)
    if found is not None:
        return found, False
    place = must_exist(db.session.get(Place, req.place_id),
                       "NO_PLACE", "没有这个地点", "no such place")
    now = datetime.now(timezone.utc)
    at = min(req.at, now + FUTURE_SLACK)
    check = SpotCheck(nonce=req.nonce, place_id=place.id, user_id=user_id, at=at, received_at=now,
                      note=(req.note or "").strip()[:200])
    response = {"place": place.name, "at": at.isoformat()}
    if req.text.strip():
        # A spot check judges the pass itself: no gate, no anti-passback.
        ctx = gate_context(None, "in")
        ctx.check_passback = False
        ctx.rules = {}
        locked: dict[int, Pass] = {}

        def lookup(pass_id: int):
            p = db.session.get(Pass, pass_id)
            if p is not None:
                locked[pass_id] = p
            return p.state() if p else None

        token, typed = _token_for(req.text.strip())
        v = verify(token, verifying_ring(place.community_id), lookup, at, ctx)
        check.pass_id = v.pass_id if v.pass_id in locked else None
        check.allowed, check.reason = v.allowed, v.reason
        response |= {"allowed": v.allowed, "reason": v.reason, "message": v.message,
                     "message_en": v.message_en, "holder": v.holder, "pass_id": v.pass_id,
                     "typed": typed}
    if place.last_check_at is None or at > place.last_check_at:
        place.last_check_at = at
    db.session.add(check)
    try:
        db.session.flush()
        check.response = response | {"check_id": check.id}
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = _existing(user_id, req.nonce)
        if found is None:
            raise
        return found, False
    return check, True


def recent_checks(limit: int = 50) -> list[SpotCheck]:
    return list(db.session.scalars(db.select(SpotCheck).order_by(SpotCheck.at.desc()).limit(limit)))
