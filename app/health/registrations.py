"""Self-registration at the gate (扫码登记): poster links, the public form, the staff queue.

The poster's QR is a signed URL naming the gate; an arrival fills in the form
on their phone (no login), gets a status link (a signed registration id), and
health staff approve (person matched by phone or created, episode started
from the arrival day, pass issued, personal link ready) or reject with a reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from gatepass.alerts import AlertKind, AlertSource
from gatepass.categories import mask_id_card
from gatepass.quarantine import TravelMode

from ..config import community_tz
from ..extensions import db
from ..models import Gate, Household, Pass, Person
from .models import Registration
from . import episodes as health
from ..services import issuing
from ..common import ratelimit
from .alerts import open_alert
from ..common.errors import ServiceError, must_exist

POSTER_SALT = "gatepass.arrival-poster.v1"
STATUS_SALT = "gatepass.registration-status.v1"
PHONE = re.compile(r"^1\d{10}$")
ID_CARD = re.compile(r"^(\d{17}[\dX]|\d{15})$")
SYMPTOMS = ("发热", "咳嗽", "乏力", "咽痛", "腹泻", "嗅觉或味觉减退")
RATE_WINDOW = timedelta(hours=1)


class RegistrationError(ServiceError):
    """A registration step that cannot be done as asked."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


# -- links -------------------------------------------------------------------------

def poster_token(gate: Gate) -> str:
    return _serializer(POSTER_SALT).dumps(gate.id)


def _signed_row(salt: str, token: str, model):
    """The row a signed link names, or None for a forged, foreign or stale link."""
    try:
        row_id = _serializer(salt).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return db.session.get(model, row_id) if isinstance(row_id, int) else None


def gate_for_poster(token: str) -> Gate | None:
    return _signed_row(POSTER_SALT, token, Gate)


def status_token(reg: Registration) -> str:
    return _serializer(STATUS_SALT).dumps(reg.id)


def registration_for_status(token: str) -> Registration | None:
    return _signed_row(STATUS_SALT, token, Registration)


def public_base() -> str:
    """The base of printed URLs (``config.public_base_url``; the demo address outside one)."""
    from ..config import public_base_url
    return public_base_url() or "http://127.0.0.1:5000"


def poster_url(gate: Gate) -> str:
    return f"{public_base()}/register/{poster_token(gate)}"


# -- rate limit --------------------------------------------------------------------------

def rate_limited(address: str, now: datetime | None = None) -> bool:
    """True when this address submitted REGISTRATION_RATE_LIMIT times in the last hour."""
    return ratelimit.too_many("registration", address, current_app.config["REGISTRATION_RATE_LIMIT"],
                              RATE_WINDOW, now)


def count_hit(address: str, now: datetime | None = None) -> None:
    ratelimit.count("registration", address, now)


# -- the public form ----------------------------------------------------------------------

@dataclass
class Arrival:
    """What an arrival typed in, already checked by the form."""

    name: str
    phone: str
    id_card: str
    origin: str
    arrived_on: date
    travel_mode: str
    travel_number: str
    household_id: int
    reason: str
    symptoms: list[str]


def check(a: Arrival, today: date) -> dict[str, tuple[str, str]]:
    """Field -> (zh, en) message for everything wrong with ``a``."""
    errors = {}
    if not a.name.strip():
        errors["name"] = ("请填写姓名", "enter your name")
    if not PHONE.match(a.phone):
        errors["phone"] = ("请填写 11 位手机号", "enter an 11-digit mobile number")
    if not ID_CARD.match(a.id_card.upper()):
        errors["id_card"] = ("身份证号应为 18 位", "an ID number has 18 characters")
    if not a.origin.strip():
        errors["origin"] = ("请填写从哪里来（城市/区县）", "enter where you came from (city/district)")
    if a.arrived_on > today or a.arrived_on < today - timedelta(days=30):
        errors["arrived_on"] = ("到达日期应在最近 30 天内，且不晚于今天",
                                "the arrival date must be within the last 30 days")
    if a.travel_mode not in set(TravelMode):
        errors["travel_mode"] = ("请选择交通方式", "choose a travel mode")
    if db.session.get(Household, a.household_id or 0) is None:
        errors["household_id"] = ("请选择楼栋、单元和房号", "choose your building, unit and room")
    if any(s not in SYMPTOMS for s in a.symptoms):
        errors["symptoms"] = ("症状选项无效", "unknown symptom")
    return errors


def submit(a: Arrival, gate: Gate | None, address: str, now: datetime | None = None) -> Registration:
    """Store a registration; the same phone's pending entry is updated instead of duplicated."""
    now = now or datetime.now(timezone.utc)
    reg = db.session.scalar(db.select(Registration).where(Registration.phone == a.phone,
                                                          Registration.status == "pending"))
    if reg is None:
        reg = Registration(phone=a.phone, created_at=now, status="pending", reject_reason="")
        db.session.add(reg)
    reg.gate_id = gate.id if gate else reg.gate_id
    reg.name = a.name.strip()[:60]
    reg.id_card_masked = mask_id_card(a.id_card)  # the full number is never stored
    reg.origin = a.origin.strip()[:60]
    reg.arrived_on = a.arrived_on
    reg.travel_mode = a.travel_mode
    reg.travel_number = a.travel_number.strip()[:20]
    reg.household_id = a.household_id
    reg.reason = a.reason.strip()[:200]
    reg.symptoms = "、".join(a.symptoms)
    reg.consent_at = now
    reg.address = (address or "")[:45]
    reg.updated_at = now
    db.session.flush()
    return reg


# -- the staff queue ----------------------------------------------------------------------

def pending() -> list[Registration]:
    return list(db.session.scalars(db.select(Registration).where(Registration.status == "pending")
                                   .order_by(Registration.created_at)))


def pending_count() -> int:
    return db.session.scalar(db.select(db.func.count(Registration.id))
                             .where(Registration.status == "pending")) or 0


def get(reg_id: int) -> Registration:
    return must_exist(db.session.get(Registration, reg_id),
                      "NO_REGISTRATION", "没有这条登记", "no such registration")


def _pending(reg: Registration) -> None:
    if reg.status != "pending":
        raise RegistrationError("DECIDED", "这条登记已处理", "this registration was decided already")


def arrival_time(reg: Registration) -> datetime:
    """When the quarantine starts: the registration's time if it came on the arrival day,
    else the arrival day's local midnight."""
    tz = community_tz()
    if reg.created_at.astimezone(tz).date() == reg.arrived_on:
        return reg.created_at
    return datetime.combine(reg.arrived_on, time(0), tz).astimezone(timezone.utc)


def approve(reg: Registration, user_id: int | None, now: datetime | None = None) -> Pass:
    """Match or create the person, start their episode, issue (or keep) their pass."""
    now = now or datetime.now(timezone.utc)
    _pending(reg)
    person = db.session.scalar(db.select(Person).where(Person.phone == reg.phone))
    if person is None:
        person = Person(name=reg.name, phone=reg.phone, category="resident",
                        household_id=reg.household_id, id_card_masked=reg.id_card_masked)
        db.session.add(person)
        db.session.flush()
    else:
        person.household_id = person.household_id or reg.household_id
        person.id_card_masked = person.id_card_masked or reg.id_card_masked
    p = issuing.issue_pass(person)
    db.session.refresh(person, ["passes"])
    ep = health.start_episode(person, arrival_time(reg), origin=reg.origin,
                              travel_mode=reg.travel_mode, travel_number=reg.travel_number,
                              user_id=user_id, now=now)
    if reg.symptoms:
        alert = open_alert(AlertKind.SYMPTOM, AlertSource.HOME_REPORT, person_id=person.id,
                           note=f"登记时自报：{reg.symptoms}", at=now)
        alert.episode_id = ep.id
    reg.status, reg.decided_at, reg.decided_by = "approved", now, user_id
    reg.person_id, reg.episode_id, reg.pass_id = person.id, ep.id, p.id
    return p


def reject(reg: Registration, reason: str, user_id: int | None, now: datetime | None = None) -> None:
    _pending(reg)
    if not (reason or "").strip():
        raise RegistrationError("REASON_REQUIRED", "请填写不通过的原因", "give a reason for rejecting")
    reg.status, reg.reject_reason = "rejected", reason.strip()[:200]
    reg.decided_at, reg.decided_by = now or datetime.now(timezone.utc), user_id


def pass_link(reg: Registration) -> str | None:
    """The approved arrival's personal pass link (path), if the pass still lives."""
    if reg.status != "approved" or reg.pass_id is None:
        return None
    p = db.session.get(Pass, reg.pass_id)
    if p is None or p.status == "revoked":
        return None
    return f"/p/{issuing.resident_link_token(p)}"


def households_by_building() -> list[tuple[str, list[Household]]]:
    """The community's own list of homes, for the form's picker."""
    from ..models import Building
    from gatepass.addresses import natural_key
    out = []
    for b in sorted(db.session.scalars(db.select(Building)), key=lambda b: natural_key(b.name)):
        homes = sorted(b.households, key=lambda h: (natural_key(h.unit), natural_key(h.room)))
        if homes:
            out.append((b.name, homes))
    return out
