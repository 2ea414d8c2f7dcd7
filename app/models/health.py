from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class TemperatureReport(db.Model):
    """One temperature reading of a person in home quarantine."""

    __tablename__ = "temperature_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    value: Mapped[float]
    recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    person: Mapped["Person"] = relationship()  # noqa: F821
