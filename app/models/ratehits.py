"""Attempts counted against a limit (``app.common.ratelimit``): wrong passwords, PINs, lookups."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class RateHit(db.Model):
    """One attempt counted against a limit (self-service lookups per address, PINs per
    device): in the database, so every worker process sees the same count."""

    __tablename__ = "rate_hits"
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
