"""Count attempts against a limit in the database (every worker sees the same count)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..extensions import db
from ..models import RateHit


def too_many(bucket: str, key: str, limit: int, window: timedelta,
             now: datetime | None = None) -> bool:
    """True when ``key`` already made ``limit`` attempts in ``window``."""
    now = now or datetime.now(timezone.utc)
    n = db.session.scalar(db.select(db.func.count(RateHit.id)).where(
        RateHit.bucket == bucket, RateHit.key == key, RateHit.at > now - window)) or 0
    return n >= limit


def count(bucket: str, key: str, now: datetime | None = None) -> None:
    """Record one attempt (the caller commits); old hits are swept now and then."""
    now = now or datetime.now(timezone.utc)
    db.session.add(RateHit(bucket=bucket, key=key[:80], at=now))
    if now.second == 0:  # about one request in sixty tidies up
        db.session.execute(db.delete(RateHit).where(RateHit.at < now - timedelta(days=1)))
