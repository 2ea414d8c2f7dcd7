from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Gate(db.Model):
    __tablename__ = "gates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # "东门"
    devices: Mapped[list["GateDevice"]] = relationship(back_populates="gate")


class GateDevice(db.Model):
    """A scanner laptop. Its API token is stored only as a SHA-256 hash."""

    __tablename__ = "gate_devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    gate: Mapped[Gate] = relationship(back_populates="devices")


class Scan(db.Model):
    """One scan at a gate, allowed or not: the authoritative log.

    ``nonce`` is unique: a device retrying a delivery can never add a second row.
    """

    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
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
