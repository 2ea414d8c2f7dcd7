"""Who lives here and what comes through the gate: buildings, households, people, vehicles.

ID numbers are stored masked only (``gatepass.categories.mask_id_card``); names
are shown masked wherever a guard or a gate screen sees them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from gatepass.categories import VehicleKind, mask_name
from gatepass.quarantine import in_quarantine
from .base import CommunityOwned, UTCDateTime, utcnow


class Building(CommunityOwned, db.Model):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_buildings_community_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # "3号楼"
    households: Mapped[list["Household"]] = relationship(back_populates="building")


class Household(CommunityOwned, db.Model):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("community_id", "building_id", "unit", "room",
                                       name="uq_households_community_home"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    unit: Mapped[str] = mapped_column(String(20), default="")  # "2单元"
    room: Mapped[str] = mapped_column(String(20))  # "301"
    note: Mapped[str] = mapped_column(String(200), default="")
    # Goes up when the office resets the household's family link (one phone for everyone).
    link_version: Mapped[int] = mapped_column(default=1, server_default="1")
    building: Mapped[Building] = relationship(back_populates="households")
    people: Mapped[list["Person"]] = relationship(back_populates="household")
    vehicles: Mapped[list["Vehicle"]] = relationship(back_populates="household")

    @property
    def address(self) -> str:
        return f"{self.building.name}{self.unit}{self.room}"


class Person(CommunityOwned, db.Model):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("community_id", "phone", name="uq_people_community_phone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20), default="resident", index=True)
    # Only ever the masked form, e.g. 1101********1234.
    id_card_masked: Mapped[str] = mapped_column(String(24), default="")
    employer: Mapped[str] = mapped_column(String(60), default="")  # for non-residents
    is_returnee: Mapped[bool] = mapped_column(default=False)
    quarantine_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    household: Mapped[Optional[Household]] = relationship(back_populates="people")
    passes: Mapped[list["Pass"]] = relationship(back_populates="person")  # noqa: F821

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def address(self) -> str:
        return self.household.address if self.household else ""

    @property
    def in_quarantine(self) -> bool:
        return in_quarantine(self.quarantine_until, utcnow())


class Vehicle(CommunityOwned, db.Model):
    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("community_id", "plate", name="uq_vehicles_community_plate"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(12))  # "京A12345"
    kind: Mapped[str] = mapped_column(String(10), default=VehicleKind.OWN.value)
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("households.id"), index=True)
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    household: Mapped[Optional[Household]] = relationship(back_populates="vehicles")
    owner: Mapped[Optional[Person]] = relationship()
    passes: Mapped[list["Pass"]] = relationship(back_populates="vehicle")  # noqa: F821

    @property
    def address(self) -> str:
        return self.household.address if self.household else ""
