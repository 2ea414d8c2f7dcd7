"""Self-registration at the gate (扫码登记): poster links, the public form, the staff queue.

The poster's QR is a signed URL naming the gate; an arrival fills in the form
on their phone (no login), gets a status link (a signed registration id), and
health staff approve (episode started from the arrival day, pass issued,
personal link ready) or reject with a reason.

Nobody is verified on this form: anyone can type anyone's phone number. So a
phone number never decides who a registration is. When it belongs to a person
on file, health staff see both side by side and choose "same person" (allowed
only when name and ID last 4 agree) or "new person"; the status link only ever
shows the link of a pass this registration created, at the version it was
created with; and a second submission with the same phone from another device
is a new entry flagged as a possible duplicate, never an edit of the first.
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
from ..tenancy import narrowed_to_row

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
    return narrowed_to_row(db.session.get(model, row_id)) if isinstance(row_id, int) else None


def gate_for_poster(token: str) -> Gate | None:
    return _signed_row(POSTER_SALT, token, Gate)


def status_token(reg: Registration) -> str:
    return _serializer(STATUS_SALT).dumps(reg.id)


def registration_for_status(token: str) -> Registration | None:
    return _signed_row(STATUS_SALT, token, Registration)


def public_base() -> str:
    """The base of printed URLs (``config.printed_base_url``; the demo address outside one)."""
    from ..config import printed_base_url
    return printed_base_url()


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


def submit(a: Arrival, gate: Gate | None, address: str, now: datetime | None = None,
           mine: Registration | None = None) -> Registration:
    """Store a registration.

    ``mine`` is the entry this browser submitted before (its status cookie): only that
    entry, still pending and for the same phone, is updated. Anything else is a new
    entry, so a stranger typing someone's phone can neither edit their entry nor
    receive their status link; staff see both, flagged as possible duplicates.
    """
    now = now or datetime.now(timezone.utc)
    reg = mine if mine is not None and mine.status == "pending" and mine.phone == a.phone else None
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


@dataclass
class Match:
    """The person on file who already has the registration's phone, and what differs.

    Shown to health staff beside the registration: the phone alone proves nothing.
    """

    person: Person
    same_name: bool
    same_id: bool
    same_home: bool
    reg_id_last4: str
    person_id_last4: str

    @property
    def may_be_same(self) -> bool:
        """Only when name and ID last 4 both agree may staff approve as the same person."""
        return self.same_name and self.same_id


def id_last4(masked: str) -> str:
    """The last 4 characters of a masked ID number, or "" when unknown."""
    tail = (masked or "").strip()[-4:]
    return tail if len(tail) == 4 and "*" not in tail else ""


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def match_for(reg: Registration) -> Match | None:
    person = db.session.scalar(db.select(Person).where(Person.phone == reg.phone))
    if person is None:
        return None
    mine, theirs = id_last4(reg.id_card_masked), id_last4(person.id_card_masked)
    return Match(person, same_name=_same_name(reg.name, person.name),
                 same_id=bool(mine) and mine == theirs,
                 same_home=person.household_id == reg.household_id,
                 reg_id_last4=mine, person_id_last4=theirs)


def same_phone(regs: list[Registration]) -> dict[int, list[Registration]]:
    """Each registration's other entries with the same phone (possible duplicates)."""
    phones = {r.phone for r in regs}
    rows = db.session.scalars(db.select(Registration).where(Registration.phone.in_(phones))
                              .order_by(Registration.created_at)).all() if phones else []
    return {r.id: [o for o in rows if o.phone == r.phone and o.id != r.id] for r in regs}


SAME, NEW = "same", "new"


def _person_for(reg: Registration, choice: str, person_id: int | None) -> tuple[Person, bool]:
    """The person this registration becomes, and whether it was created here.

    A phone already on file needs the staff's explicit choice; "same" must name that
    person and agree on name and ID last 4. A new person takes the phone only when
    nobody has it (the phone is unique; the office can fix it after checking).
    """
    match = match_for(reg)
    if match is not None and choice not in (SAME, NEW):
        raise RegistrationError(
            "CHOOSE_MATCH", "此手机号已属于已有人员：请核对后选择“同一人”或“新人员”",
            "this phone belongs to someone on file: choose same person or new person")
    if choice == SAME:
        if match is None or match.person.id != person_id:
            raise RegistrationError("NO_MATCH", "已有人员已变化，请刷新后重新核对",
                                    "the person on file changed: reload and check again")
        if not match.may_be_same:
            raise RegistrationError(
                "NOT_SAME_PERSON", "姓名或身份证后 4 位与已有人员不一致，不能按同一人通过",
                "name or ID last 4 differ from the person on file: not the same person")
        person = match.person
        person.household_id = person.household_id or reg.household_id
        return person, False
    person = Person(name=reg.name, phone=None if match else reg.phone, category="resident",
                    household_id=reg.household_id, id_card_masked=reg.id_card_masked)
    db.session.add(person)
    db.session.flush()
    return person, True


def approve(reg: Registration, user_id: int | None, now: datetime | None = None, *,
            choice: str = "", person_id: int | None = None) -> Pass:
    """Start the arrival's episode on the chosen person and issue (or keep) their pass.

    Only a pass this approval created is handed to the status link, and only at
    its current link version (``reg.link_version``): an office reset ends it there.
    """
    now = now or datetime.now(timezone.utc)
    _pending(reg)
    person, created = _person_for(reg, choice, person_id)
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
    reg.link_version = p.link_version if created else None
    return p


def reject(reg: Registration, reason: str, user_id: int | None, now: datetime | None = None) -> None:
    _pending(reg)
    if not (reason or "").strip():
        raise RegistrationError("REASON_REQUIRED", "请填写不通过的原因", "give a reason for rejecting")
    reg.status, reg.reject_reason = "rejected", reason.strip()[:200]
    reg.decided_at, reg.decided_by = now or datetime.now(timezone.utc), user_id


def _live_pass(reg: Registration) -> Pass | None:
    if reg.status != "approved" or reg.pass_id is None:
        return None
    p = db.session.get(Pass, reg.pass_id)
    return None if p is None or p.status == "revoked" else p


def pass_link(reg: Registration) -> str | None:
    """The approved arrival's current pass link (path), for health staff to send."""
    p = _live_pass(reg)
    return f"/p/{issuing.resident_link_token(p)}" if p else None


def status_link(reg: Registration) -> str | None:
    """The pass link the public status page may show: only of a pass this registration
    created, and only until the office resets that link."""
    p = _live_pass(reg)
    if p is None or reg.link_version is None or p.link_version != reg.link_version:
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
