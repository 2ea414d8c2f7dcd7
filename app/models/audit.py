"""The audit trail: who did what to which record, and who looked at whose health data.

PIPL expects the second (views of health data and ID numbers) as much as the
first (office actions). One table for both keeps one page and one export for
the admin; ``kind`` tells them apart.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import CommunityOwned, UTCDateTime, utcnow


class AuditEntry(CommunityOwned, db.Model):
    __tablename__ = "audit_entries"
    community_optional = True  # a sub-district-level action may belong to no community
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # "action" | "view"
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. pass.revoke, health.view
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(String(40), default="")  # kept if the user is deleted
    target: Mapped[str] = mapped_column(String(60), default="")  # e.g. "pass:45", "batch:3号楼"
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("people.id"), index=True)
    detail: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(45), default="")  # the client's IP
    user: Mapped[Optional["User"]] = relationship()  # noqa: F821
