"""What the service and the gates must agree on, written once.

A gate laptop may run an older scanner than the service for weeks: every
fact here is part of the wire contract, so change it only with a new
version of the path or field it belongs to.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

API_PREFIX = "/api/v1"
SCANS_PATH = f"{API_PREFIX}/scans"
SNAPSHOT_PATH = f"{API_PREFIX}/gate/snapshot"
PING_PATH = f"{API_PREFIX}/ping"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"

#: How far ahead of the server's clock a gate's scanned_at may be (clock drift), and how
#: far back (a gate offline for longer than this has a broken clock, not a backlog).
SCAN_CLOCK_AHEAD = timedelta(minutes=5)
SCAN_MAX_AGE = timedelta(days=90)

#: A scan's direction through the gate, as the gate sends it.
DIRECTIONS = ("in", "out")

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
                        "no_exit")

#: ``no_exit``, the only health fact a gate is sent: the holder may not go out (home
#: quarantine). On the wire it is null or this fixed marker, never a real date: the field
#: used to be ``quarantine_until``, and a scanner older than the flag reads the marker as a
#: date far ahead and denies going out alike. A reader also takes ``true`` as set, and a
#: real date (a row cached before the service sent flags) as set while it is ahead.
NO_EXIT_MARK = "9999-01-01T00:00:00+00:00"


def pass_code(pass_id: int, serial: int) -> str:
    """The short code a guard can type when the camera fails: ``P000123-2``."""
    return f"P{pass_id:06d}-{serial}"


def parse_time(text: str) -> datetime:
    """An ISO-8601 time from the wire (a gate's scanned_at, a snapshot's dates) as an aware
    datetime; 'Z' is accepted and a time without an offset is taken as UTC.  Raises
    ValueError on anything else, also on a time with no UTC equivalent (year 1 at +14:00)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    try:
        dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    return dt


def scan_time_problem(scanned_at: datetime, now: datetime,
                      field: str = "scanned_at") -> Optional[str]:
    """Why a gate's scanned_at (or a logbook event's ``at``) cannot be believed (None if
    it can): a time far in the future would freeze a pass's in/out state; one from long
    ago is a reset clock."""
    if scanned_at > now + SCAN_CLOCK_AHEAD:
        return f"{field} is in the future: check the gate laptop's clock"
    if scanned_at < now - SCAN_MAX_AGE:
        return f"{field} is too long ago: check the gate laptop's clock"
    return None


def _iso(dt: Optional[datetime]) -> Optional[str]:
    return dt.isoformat() if dt else None


def pack_pass_row(serial: int, status: str, category: str, valid_from: Optional[datetime],
                  valid_until: Optional[datetime], no_exit: bool) -> list:
    """A pass as the snapshot carries it (see SNAPSHOT_PASS_FIELDS and NO_EXIT_MARK)."""
    return [serial, status, category, _iso(valid_from), _iso(valid_until),
            NO_EXIT_MARK if no_exit else None]


def unpack_pass_row(row: Any, now: Optional[datetime] = None) -> dict:
    """The snapshot's list back into named fields; short or odd rows are padded, dates
    parsed, ``no_exit`` a bool (a legacy date counts as set while it is after ``now``)."""
    values = (list(row) + [None] * len(SNAPSHOT_PASS_FIELDS))[:len(SNAPSHOT_PASS_FIELDS)]
    out = dict(zip(SNAPSHOT_PASS_FIELDS, values))
    for key in ("valid_from", "valid_until"):
        out[key] = parse_time(str(out[key])) if out[key] else None
    out["no_exit"] = _no_exit(out["no_exit"], now or datetime.now(timezone.utc))
    return out


def _no_exit(value: Any, now: datetime) -> bool:
    if isinstance(value, (bool, int)):
        return bool(value)
    if not value or not isinstance(value, str):
        return False  # null, or nothing a reader can make sense of
    return value == NO_EXIT_MARK or now < parse_time(value)


# --------------------------------------------------------------------------- scanner contracts
# (docs/gate-duty.md and docs/scanner.md: gate logbook, guard duty, enrolment, the scanner's
# headers and receipts)

EVENTS_PATH = f"{API_PREFIX}/events"
DUTY_SIGN_ON_PATH = f"{API_PREFIX}/duty/sign-on"
DUTY_SIGN_OFF_PATH = f"{API_PREFIX}/duty/sign-off"
ENROLL_PATH = f"{API_PREFIX}/enroll"

#: Headers on every request from a scanner: its version and the rows it has not delivered.
SCANNER_VERSION_HEADER = "X-Scanner-Version"
OUTBOX_WAITING_HEADER = "X-Outbox-Waiting"

#: Replies a gate treats as "the link is wrong, not the row" besides RETRY_STATUSES: a
#: captive portal or a proxy in the way (any 3xx), a firewall (403), a wrong path or an
#: older service (404, 405). Retried with backoff, never rejected for good.
LINK_ERROR_STATUSES = frozenset({403, 404, 405})

#: Logbook event kinds and the closed vocabularies of their fields.
EVENT_KINDS = ("turn_away", "visitor", "courier", "vehicle", "incident")
TURN_AWAY_REASONS = ("outsider", "visitor_no_host", "outside_vehicle", "refused_temperature",
                     "other")
INCIDENT_TYPES = ("forced_entry", "abuse", "refused_registration", "other")

#: The setup QR of a gate laptop: ``gatepass-enroll:<code>?server=<percent-encoded URL>``.
ENROLL_SCHEME = "gatepass-enroll:"
ENROLL_CODE_LENGTH = 32


def parse_enroll_text(text: str) -> tuple[str, Optional[str]]:
    """(code, server or None) of a setup QR's text; ValueError when it is not one."""
    from urllib.parse import parse_qs

    if not isinstance(text, str) or not text.startswith(ENROLL_SCHEME):
        raise ValueError("not a gatepass setup code")
    code, _, query = text[len(ENROLL_SCHEME):].partition("?")
    if len(code) != ENROLL_CODE_LENGTH or not all(c.isalnum() or c in "-_" for c in code):
        raise ValueError("malformed setup code")
    servers = parse_qs(query, keep_blank_values=False).get("server") or [None]
    return code, servers[0]


def enroll_text(code: str, server: str) -> str:
    """The setup QR's text for ``code`` at ``server`` (what the office prints)."""
    from urllib.parse import quote

    return f"{ENROLL_SCHEME}{code}?server={quote(server, safe='')}"
