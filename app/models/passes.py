"""Passes and the office's per-category rules.

A pass's ``status`` is one of ``gatepass.status.PassStatus``; what a status
means at the gate is decided by ``gatepass.verdict``, which reads
``Pass.state()``. The model stores, the domain decides.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, PrimaryKeyConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from gatepass.categories import label
from gatepass.rules import CategoryRule
from gatepass.status import PassStatus
from gatepass.verdict import PassState
from gatepass.wire import pass_code
from .base import CommunityOwned, UTCDateTime, utcnow


class Pass(CommunityOwned, db.Model):
    """One pass (出入证) for a person or a vehicle.

    ``serial`` goes up on every reissue, so a lost card's QR stops working;
    ``link_version`` goes up when the office revokes a resident's phone link.
    """

    __tablename__ = "passes"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (vehicle_id IS NULL)", name="one_holder"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"), index=True)
    vehicle_id: Mapped[Optional[int]] = mapped_column(ForeignKey("vehicles.id"), index=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    serial: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default=PassStatus.ACTIVE.value, index=True)
    valid_from: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    valid_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    link_version: Mapped[int] = mapped_column(default=1)
    # Presence for anti-passback: None = never seen at a gate.
    inside: Mapped[Optional[bool]] = mapped_column(default=None)
    last_scan_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_gate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gates.id"))
    #: The key id the pass's latest card carries (``services.printing.mark_printed``); "?" =
    #: a card made before anyone recorded it; NULL = never made into a card.
    printed_kid: Mapped[Optional[str]] = mapped_column(String(8), index=True)
    printed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    person: Mapped[Optional["Person"]] = relationship(back_populates="passes")  # noqa: F821
    vehicle: Mapped[Optional["Vehicle"]] = relationship(back_populates="passes")  # noqa: F821

    @property
    def holder_name(self) -> str:
        return self.person.name if self.person else self.vehicle.plate

    @property
    def masked_holder(self) -> str:
        return self.person.masked_name if self.person else self.vehicle.plate

    @property
    def address(self) -> str:
        return (self.person or self.vehicle).address

    @property
    def code(self) -> str:
        """Short code a guard can type when the camera fails: P000123-2."""
        return pass_code(self.id, self.serial)

    def holder_summary(self) -> dict:
        """Display-safe: masked name, building/unit, category. Nothing else."""
        return {"name": self.masked_holder, "address": self.address,
                "category": self.category, "category_label": label(self.category),
                "code": self.code}

    def state(self) -> PassState:
        return PassState(pass_id=self.id, serial=self.serial, status=self.status,
                         category=self.category, valid_from=self.valid_from,
                         valid_until=self.valid_until, inside=self.inside,
                         quarantine_until=self.person.quarantine_until if self.person else None,
                         holder=self.holder_summary())


class CategoryRuleRow(CommunityOwned, db.Model):
    """The office's rule for one category in one community: hours, gates, anti-passback."""

    __tablename__ = "category_rules"
    __table_args__ = (PrimaryKeyConstraint("community_id", "category", name="pk_category_rules"),)
    category: Mapped[str] = mapped_column(String(20))
    hours: Mapped[str] = mapped_column(String(100), default="")  # "03:00-07:00,16:00-20:00"
    gates: Mapped[str] = mapped_column(String(200), default="")  # "东门,北门"
    anti_passback: Mapped[bool] = mapped_column(default=True)
    temperature_required: Mapped[bool] = mapped_column(default=False, server_default=false())

    def to_rule(self) -> CategoryRule:
        return CategoryRule.from_strings(self.category, self.hours, self.gates, self.anti_passback,
                                         self.temperature_required)
