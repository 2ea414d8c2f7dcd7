"""Count attempts against a limit in the database (every worker sees the same count).

One mechanism for every limit: wrong passwords, setup-code exchanges, wrong PINs,
self-registrations, link look-ups. Settings read like ``"10 per 5 minutes"``.

A client's address counts per network an attacker cannot cheaply leave: an IPv4
address, but an IPv6 /64 (one phone or home gets a whole /64 and picks any address
in it), so every key that is an address is counted by ``address_key``.
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone

from ..extensions import db
from ..models import RateHit


def address_key(address: str | None) -> str:
    """The address as limits count it: IPv4 as is (an IPv4-mapped IPv6 too), IPv6 as its
    /64; anything else (a device or user key) unchanged."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or ""
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def too_many(bucket: str, key: str, limit: int, window: timedelta,
             now: datetime | None = None) -> bool:
    """True when ``key`` already made ``limit`` attempts in ``window``."""
    now = now or datetime.now(timezone.utc)
    key = address_key(key)[:80]
    n = db.session.scalar(db.select(db.func.count(RateHit.id)).where(
        RateHit.bucket == bucket, RateHit.key == key, RateHit.at > now - window)) or 0
    return n >= limit


def count(bucket: str, key: str, now: datetime | None = None) -> None:
    """Record one attempt (the caller commits); old hits are swept now and then."""
    now = now or datetime.now(timezone.utc)
    db.session.add(RateHit(bucket=bucket, key=address_key(key)[:80], at=now))
    if now.second == 0:  # about one request in sixty tidies up
        db.session.execute(db.delete(RateHit).where(RateHit.at < now - timedelta(days=1)))


_SPEC = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.I)


def parse_limit(spec: str) -> tuple[int, timedelta]:
    """``"10 per 5 minutes"`` -> (10, 5 minutes); ValueError for anything else."""
    m = _SPEC.match(spec or "")
    if not m:
        raise ValueError(f"a limit reads like '10 per 5 minutes', not {spec!r}")
    n, amount, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3).lower()
    return n, timedelta(**{unit + "s": amount})


def over(bucket: str, key: str, spec: str, now: datetime | None = None) -> bool:
    """True when ``key`` has used up the limit ``spec`` (a setting such as LOGIN_LIMIT_PER_USER)."""
    limit, window = parse_limit(spec)
    return too_many(bucket, key, limit, window, now)
