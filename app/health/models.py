"""Home quarantine as records: episodes, self-registrations, home checks, errands, certificates.

See ``gatepass.quarantine`` for the rules (days, slots, outcomes). Every
record of one stay hangs off its ``QuarantineEpisode``, so the retention
purge can delete a finished episode's health data in one sweep.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models.base import CommunityOwned, UTCDateTime, utcnow


class QuarantineEpisode(CommunityOwned, db.Model):
    """One stay in home quarantine of one person after one arrival."""

    __tablename__ = "quarantine_episodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    origin: Mapped[str] = mapped_column(String(60), default="")  # city/district
    travel_mode: Mapped[str] = mapped_column(String(12), default="")  # TravelMode
    travel_number: Mapped[str] = mapped_column(String(20), default="")  # G1234, CA1501, 京A…
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    days: Mapped[int] = mapped_column(default=14)
    planned_end_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[Optional[str]] = mapped_column(String(16))  # Outcome
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    started_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    ended_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    #: The pass was suspended for the stay (community rule) and is reinstated at the end.
    pass_suspended: Mapped[bool] = mapped_column(default=False)
    person: Mapped["Person"] = relationship()  # noqa: F821
    starter: Mapped[Optional["User"]] = relationship(foreign_keys=[started_by])  # noqa: F821
    ender: Mapped[Optional["User"]] = relationship(foreign_keys=[ended_by])  # noqa: F821

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class Registration(CommunityOwned, db.Model):
    """A self-registration from the gate poster (扫码登记), waiting for health staff.

    The ID number is stored masked only. The arrival's status link is a signed
    id (``app.health.registrations.status_token``): nothing secret is stored.
    """

    __tablename__ = "registrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gates.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    id_card_masked: Mapped[str] = mapped_column(String(24), default="")
    origin: Mapped[str] = mapped_column(String(60), default="")
    arrived_on: Mapped[date] = mapped_column(Date)
    travel_mode: Mapped[str] = mapped_column(String(12), default="")
    travel_number: Mapped[str] = mapped_column(String(20), default="")
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("households.id"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    symptoms: Mapped[str] = mapped_column(String(200), default="")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(45), default="")  # the submitting client's IP
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"))
    episode_id: Mapped[Optional[int]] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("passes.id"))
    #: The pass's link version the status page may show; None: never (the pass was not
    #: created by this registration). A reset by the office moves the pass past it.
    link_version: Mapped[Optional[int]]
    household: Mapped[Optional["Household"]] = relationship()  # noqa: F821
    gate: Mapped[Optional["Gate"]] = relationship()  # noqa: F821


class HomeCheck(CommunityOwned, db.Model):
    """A door knock or surprise video call at a quarantined home (入户敲门检查, 视频抽查)."""

    __tablename__ = "home_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    method: Mapped[str] = mapped_column(String(8))  # CheckMethod
    result: Mapped[str] = mapped_column(String(10))  # CheckResult
    note: Mapped[str] = mapped_column(String(200), default="")
    by_user: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    episode: Mapped[QuarantineEpisode] = relationship()
    checker: Mapped[Optional["User"]] = relationship()  # noqa: F821


class Errand(CommunityOwned, db.Model):
    """Something staff did for a quarantined household: a parcel, shopping, disinfectant."""

    __tablename__ = "errands"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("households.id"), index=True)
    episode_id: Mapped[Optional[int]] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(14))  # ErrandKind
    note: Mapped[str] = mapped_column(String(200), default="")
    by_user: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    household: Mapped[Optional["Household"]] = relationship()  # noqa: F821
    episode: Mapped[Optional[QuarantineEpisode]] = relationship()
    doer: Mapped[Optional["User"]] = relationship()  # noqa: F821


class HealthCertificate(CommunityOwned, db.Model):
    """A health certificate (健康证明) for an ended episode; what it printed is kept as printed."""

    __tablename__ = "health_certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    holder_masked: Mapped[str] = mapped_column(String(60))
    id_card_masked: Mapped[str] = mapped_column(String(24), default="")
    address: Mapped[str] = mapped_column(String(80), default="")
    quarantine_from: Mapped[datetime] = mapped_column(UTCDateTime)
    quarantine_to: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    issuer_name: Mapped[str] = mapped_column(String(60), default="")
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")
    #: The sentence it printed: real dates and days, how the stay ended, alerts during it
    #: (``gatepass.quarantine.certificate_statement``); "" on certificates issued before.
    statement: Mapped[str] = mapped_column(String(400), default="", server_default="")
    episode: Mapped[QuarantineEpisode] = relationship()

    @property
    def valid(self) -> bool:
        return self.revoked_at is None
