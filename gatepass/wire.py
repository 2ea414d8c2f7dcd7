"""What the service and the gates must agree on, written once.

A gate laptop may run an older scanner than the service for weeks: every
fact here is part of the wire contract, so change it only with a new
version of the path or field it belongs to.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

API_PREFIX = "/api/v1"
SCANS_PATH = f"{API_PREFIX}/scans"
SNAPSHOT_PATH = f"{API_PREFIX}/gate/snapshot"
PING_PATH = f"{API_PREFIX}/ping"

#: The community's time zone unless configured otherwise (TIMEZONE).
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: A body temperature a thermometer at the gate or at home can plausibly read;
#: anything outside is a misreading (re-measure), refused everywhere alike.
TEMPERATURE_MIN = 34.0
TEMPERATURE_MAX = 43.0

#: Replies a gate retries: the link or the service is at fault, not the scan.
#: Any other 4xx will never succeed and is kept aside for a person to look at.
RETRY_STATUSES = frozenset({401, 408, 429})

#: One pass in the gate snapshot is a list in this order (about 60 bytes).
SNAPSHOT_PASS_FIELDS = ("serial", "status", "category", "valid_from", "valid_until",
                        "quarantine_until")


def pass_code(pass_id: int, serial: int) -> str:
    """The short code a guard can type when the camera fails: ``P000123-2``."""
    return f"P{pass_id:06d}-{serial}"


def parse_time(text: str) -> datetime:
    """An ISO-8601 time from the wire (a gate's scanned_at, a snapshot's dates) as an aware
    datetime; 'Z' is accepted and a time without an offset is taken as UTC.  Raises
    ValueError on anything else."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _iso(dt: Optional[datetime]) -> Optional[str]:
    return dt.isoformat() if dt else None


def pack_pass_row(serial: int, status: str, category: str, valid_from: Optional[datetime],
                  valid_until: Optional[datetime], quarantine_until: Optional[datetime]) -> list:
    """A pass as the snapshot carries it (see SNAPSHOT_PASS_FIELDS)."""
    return [serial, status, category, _iso(valid_from), _iso(valid_until), _iso(quarantine_until)]


def unpack_pass_row(row: Any) -> dict:
    """The snapshot's list back into named fields; short or odd rows are padded, dates parsed."""
    values = (list(row) + [None] * len(SNAPSHOT_PASS_FIELDS))[:len(SNAPSHOT_PASS_FIELDS)]
    out = dict(zip(SNAPSHOT_PASS_FIELDS, values))
    for key in ("valid_from", "valid_until", "quarantine_until"):
        out[key] = parse_time(str(out[key])) if out[key] else None
    return out


# -- gate duty (issue 11): the logbook and the guard on duty -----------------
EVENTS_PATH = f"{API_PREFIX}/events"
DUTY_SIGN_ON_PATH = f"{API_PREFIX}/duty/sign-on"
DUTY_SIGN_OFF_PATH = f"{API_PREFIX}/duty/sign-off"
#: Header a scanner sends with how many rows its outbox has not delivered yet.
OUTBOX_WAITING_HEADER = "X-Outbox-Waiting"
