"""Gates, the scanner laptops at them (devices), and every scan they report.

A scan row is written once per nonce, allowed or not, with its reason code
(``gatepass.verdict.REASONS``): the scan log is also the audit of the gates.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import CommunityOwned, UTCDateTime, utcnow


class Gate(CommunityOwned, db.Model):
    __tablename__ = "gates"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_gates_community_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # "东门"
    devices: Mapped[list["GateDevice"]] = relationship(back_populates="gate")


class GateDevice(CommunityOwned, db.Model):
    """A scanner laptop. Its API token is stored only as a SHA-256 hash."""

    __tablename__ = "gate_devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # What the scanner reports in X-Scanner-Version / X-Outbox-Waiting (devices page).
    scanner_version: Mapped[Optional[str]] = mapped_column(String(40))
    outbox_waiting: Mapped[Optional[int]]
    token_rotated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    gate: Mapped[Gate] = relationship(back_populates="devices")


class EnrolmentCode(CommunityOwned, db.Model):
    """A one-time setup code shown as a QR: exchanged once, within minutes, for a device
    token and the key ring. Only its SHA-256 is stored, like a device token."""

    __tablename__ = "enrolment_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("gate_devices.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    device: Mapped[GateDevice] = relationship()


class Scan(CommunityOwned, db.Model):
    """One scan at a gate, allowed or not: the authoritative log.

    ``(community_id, device_id, nonce)`` is unique: a device retrying a delivery can never add a second
    row, and one device's nonces cannot collide with another's. ``request_hash`` tells a
    true retry (same body) from a reused nonce with a different scan (409).
    """

    __tablename__ = "scans"
    __table_args__ = (UniqueConstraint("community_id", "device_id", "nonce",
                                       name="uq_scans_community_device_nonce"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gate_devices.id"))
    gate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gates.id"), index=True)
    pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("passes.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    allowed: Mapped[bool] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(20), index=True)
    raw_text: Mapped[str] = mapped_column(Text, default="")
    temperature: Mapped[Optional[float]]
    offline_reason: Mapped[Optional[str]] = mapped_column(String(20))  # what the gate showed
    response: Mapped[dict] = mapped_column(JSON, default=dict)
    # The guard on duty (sent by the scanner, else the one signed on at this gate).
    guard_id: Mapped[Optional[int]] = mapped_column(ForeignKey("guards.id"), index=True)
    gate: Mapped[Optional[Gate]] = relationship()
    device: Mapped[Optional[GateDevice]] = relationship()
    pass_: Mapped[Optional["Pass"]] = relationship()  # noqa: F821
