"""Health data: temperatures of people in home quarantine, and alerts staff must act on.

Sensitive under PIPL: collect the minimum, show it only to those who need it,
and record views of it with ``app.common.audit.record_view``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models.base import CommunityOwned, UTCDateTime, utcnow


class TemperatureReport(CommunityOwned, db.Model):
    """One temperature reading of a person in home quarantine."""

    __tablename__ = "temperature_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    value: Mapped[float]
    recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    episode_id: Mapped[Optional[int]] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    symptoms: Mapped[str] = mapped_column(String(200), default="", server_default="")
    person: Mapped["Person"] = relationship()  # noqa: F821


class HealthAlert(CommunityOwned, db.Model):
    """A fever or symptom that health staff must act on (see ``gatepass.alerts``).

    ``source`` says where it came from; ``scan_id`` is set for a gate reading
    (the person may be unknown then: a pass of a vehicle, an unknown pass),
    ``person_id`` whenever we know who it is. Closed with an ``action``, by
    whom and when.
    """

    __tablename__ = "health_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # AlertKind
    source: Mapped[str] = mapped_column(String(16))  # AlertSource
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"), index=True)
    pass_id: Mapped[Optional[int]] = mapped_column(ForeignKey("passes.id"))
    scan_id: Mapped[Optional[int]] = mapped_column(ForeignKey("scans.id"))
    gate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("gates.id"))
    episode_id: Mapped[Optional[int]] = mapped_column(ForeignKey("quarantine_episodes.id"), index=True)
    temperature: Mapped[Optional[float]]
    note: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, index=True)
    closed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    action: Mapped[Optional[str]] = mapped_column(String(16))  # AlertAction
    action_note: Mapped[str] = mapped_column(String(200), default="")
    person: Mapped[Optional["Person"]] = relationship()  # noqa: F821
    gate: Mapped[Optional["Gate"]] = relationship()  # noqa: F821
    episode: Mapped[Optional["QuarantineEpisode"]] = relationship()  # noqa: F821

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
