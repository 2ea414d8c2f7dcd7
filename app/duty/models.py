"""Gate duty's records: guards and their shifts, duty sessions, handovers, the logbook, places
and their spot checks, notices. Used only by ``app.duty`` (and the core's scan row, which names a guard)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, ForeignKey, JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models.base import CommunityOwned, UTCDateTime, utcnow


class Guard(CommunityOwned, db.Model):
    """A guard or volunteer on the duty roster. The PIN (4-8 digits) signs them on at a
    scanner; it is kept only as an HMAC keyed with the service's secret, so it is unique
    and looked up by index, and nothing in the database reads back as a PIN."""

    __tablename__ = "guards"
    __table_args__ = (UniqueConstraint("community_id", "pin_hash", name="uq_guards_community_pin"),
                      UniqueConstraint("community_id", "user_id", name="uq_guards_community_user"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(10), default="guard")  # guard | volunteer
    team: Mapped[Optional[str]] = mapped_column(String(2))  # A-D for rotating teams
    pin_hash: Mapped[Optional[str]] = mapped_column(String(64))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)


class ShiftPattern(CommunityOwned, db.Model):
    """How one gate is staffed (``gatepass.duty.PATTERNS``)."""

    __tablename__ = "shift_patterns"
    __table_args__ = (UniqueConstraint("community_id", "gate_id", name="uq_shift_patterns_community_gate"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    kind: Mapped[str] = mapped_column(String(10), default="eight")
    custom: Mapped[str] = mapped_column(String(200), default="")
    anchor: Mapped[Optional[date]] = mapped_column(Date)  # day team A works the day shift
    gate: Mapped["Gate"] = relationship()  # noqa: F821


class Shift(CommunityOwned, db.Model):
    """One concrete shift at a gate, made from its pattern for a week."""

    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("community_id", "gate_id", "starts_at",
                                       name="uq_shifts_community_gate_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    team: Mapped[Optional[str]] = mapped_column(String(2))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    gate: Mapped["Gate"] = relationship()  # noqa: F821
    assignments: Mapped[list["ShiftAssignment"]] = relationship(
        back_populates="shift", cascade="all, delete-orphan")


class ShiftAssignment(CommunityOwned, db.Model):
    __tablename__ = "shift_assignments"
    __table_args__ = (UniqueConstraint("community_id", "shift_id", "guard_id",
                                       name="uq_shift_assignments_community_shift_guard"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    shift: Mapped[Shift] = relationship(back_populates="assignments")
    guard: Mapped[Guard] = relationship()


class DutySession(CommunityOwned, db.Model):
    """A guard signed on at a gate (by PIN at a scanner or with their login on the gate
    page) until they sign off. Scans and events are stamped with the guard on duty."""

    __tablename__ = "duty_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"), index=True)
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gate_devices.id"))
    shift_id: Mapped[Optional[int]] = mapped_column(ForeignKey("shifts.id"))
    via: Mapped[str] = mapped_column(String(8), default="pin")  # pin | login
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)
    guard: Mapped[Guard] = relationship()
    gate: Mapped["Gate"] = relationship()  # noqa: F821
    shift: Mapped[Optional[Shift]] = relationship()


class Handover(CommunityOwned, db.Model):
    """交接班: the service's summary of a guard's time at a gate, and the guard's note."""

    __tablename__ = "handovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"), index=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"))
    session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("duty_sessions.id"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    seen_by: Mapped[Optional[int]] = mapped_column(ForeignKey("guards.id"))
    seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    guard: Mapped[Guard] = relationship(foreign_keys=[guard_id])
    gate: Mapped["Gate"] = relationship()  # noqa: F821


class GateEvent(CommunityOwned, db.Model):
    """One logbook entry (``gatepass.logbook``): a turn-away, visitor, courier, outside
    vehicle or incident. The nonce is unique per device (a scanner's outbox retries) and
    per user (the gate page's double tap); exactly one of the two is set."""

    __tablename__ = "gate_events"
    __table_args__ = (
        UniqueConstraint("community_id", "device_id", "nonce", name="uq_gate_events_community_device_nonce"),
        UniqueConstraint("community_id", "user_id", "nonce", name="uq_gate_events_community_user_nonce"))
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12), index=True)
    gate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gates.id"), index=True)
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gate_devices.id"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    guard_id: Mapped[Optional[int]] = mapped_column(ForeignKey("guards.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    gate: Mapped[Optional["Gate"]] = relationship()  # noqa: F821
    guard: Mapped[Optional[Guard]] = relationship()


class Place(CommunityOwned, db.Model):
    """A scattered compound (散居楼院) without a gate, checked on a schedule."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_places_community_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(120), default="")
    check_every_hours: Mapped[int] = mapped_column(default=4)
    active: Mapped[bool] = mapped_column(default=True)
    last_check_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class SpotCheck(CommunityOwned, db.Model):
    """A visit to a place, with the pass checked there if any; idempotent by nonce per user
    (a phone sends its queued checks again after the network comes back)."""

    __tablename__ = "spot_checks"
    __table_args__ = (UniqueConstraint("community_id", "user_id", "nonce",
                                       name="uq_spot_checks_community_user_nonce"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("passes.id"))
    allowed: Mapped[Optional[bool]]
    reason: Mapped[Optional[str]] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(200), default="")
    response: Mapped[dict] = mapped_column(JSON, default=dict)
    place: Mapped[Place] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821


class Notice(CommunityOwned, db.Model):
    """公告: shown on residents' pass pages, the gate page and an A4 poster."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(10), default="everyone")  # everyone|category|building
    audience_value: Mapped[str] = mapped_column(String(40), default="")  # category code / building id
    starts_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    ends_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
