"""Communities (社区) sharing one database, and the staff who serve several of them.

Almost every other table carries ``community_id`` (``app.models.base.CommunityOwned``) and
is read and written only inside a scope of communities (``app.tenancy``). These tables are
the exception: they say which communities exist and who may enter which, so they are read
before any scope is known. A row of kind ``subdistrict`` is a sub-district's own
pseudo-community (code ``sd-<n>``): it holds the sub-district-wide people, passes, notices
and key ring, and is hidden where communities are listed.
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import os

from flask import current_app, has_app_context
from sqlalchemy import Column, ForeignKey, String, Table, event, insert
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class CommunityKind(str, Enum):
    COMMUNITY = "community"
    SUBDISTRICT = "subdistrict"  # the sub-district's own pseudo-community


class Community(db.Model):
    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # "c1"; "sd-1" for a sub-district
    name: Mapped[str] = mapped_column(String(60))
    subdistrict: Mapped[str] = mapped_column(String(60), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(12), default=CommunityKind.COMMUNITY.value,
                                      server_default=CommunityKind.COMMUNITY.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_subdistrict(self) -> bool:
        return self.kind == CommunityKind.SUBDISTRICT.value


#: Staff who serve more communities than their own (a guard sent to two checkpoints, a cadre).
user_communities = Table(
    "user_communities", db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


def default_community_values(instance_config: dict | None = None) -> dict:
    """The community a single-community database is (or migrates into): code from
    ``COMMUNITY_CODE`` (default c1), name from ``COMMUNITY_NAME``, sub-district from
    ``SUBDISTRICT_NAME`` (default none)."""
    config = instance_config if instance_config is not None else \
        (current_app.config if has_app_context() else {})
    return {"code": os.environ.get("COMMUNITY_CODE") or "c1",
            "name": config.get("COMMUNITY_NAME") or os.environ.get("COMMUNITY_NAME") or "幸福里社区",
            "subdistrict": os.environ.get("SUBDISTRICT_NAME") or "",
            "kind": CommunityKind.COMMUNITY.value, "created_at": utcnow()}


@event.listens_for(Community.__table__, "after_create")
def _create_default_community(table, connection, **_kw) -> None:
    """``create_all`` on a fresh database makes its one community, as the migration does."""
    connection.execute(insert(table).values(**default_community_values()))
