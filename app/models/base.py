"""What every model shares: UTC times that come back aware, and the community a row belongs to.

SQLite keeps no time zone; without ``UTCDateTime`` a scan's time would compare wrong
against an aware ``datetime.now(timezone.utc)`` on SQLite but right on PostgreSQL.
"""
from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stored as UTC; always comes back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class CommunityOwned:
    """Mixin of every table that belongs to one community (``app.models.communities``).

    ``app.tenancy`` finds these models through this class: it adds ``community_id IN
    (scope)`` to every ORM query of them and fills or refuses ``community_id`` on flush,
    and on PostgreSQL each of their tables gets a row-level security policy. A model that
    mixes this in is isolated without writing a filter anywhere.
    """

    #: Whether a row may have no community (the audit trail: a sub-district action).
    community_optional = False

    @declared_attr
    def community_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("communities.id"), index=True,
                             nullable=cls.community_optional)
