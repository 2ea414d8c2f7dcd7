"""Gate devices: the scanner laptops, their API tokens, what they report, enrolment by QR.

A device's token is shown once, when it is made (or rotated), and stored only
as a SHA-256 hash: a copy of the database does not let anyone post scans.
A gate laptop is enrolled by scanning a setup QR the office shows (or prints with
``flask --app app devices enroll``): the QR carries a one-time code, valid ten
minutes, that ``POST /api/v1/enroll`` exchanges once for the device token and the key
ring. Only SHA-256 hashes of codes and tokens are stored.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import joinedload

from gatepass.wire import ENROLL_CODE_LENGTH, enroll_text

from ..extensions import db
from ..models import EnrolmentCode, Gate, GateDevice
from .audit import record_action
from .errors import NotFound, ServiceError
from .keys import key_ring

#: How long a setup QR works.
ENROLL_VALID = timedelta(minutes=10)
#: last_seen_at is written at most this often (every scan writing the device row would
#: make all of a gate's requests queue on one row lock).
SEEN_EVERY = timedelta(seconds=30)


def device_token_hash(token: str) -> str:
    """How a gate device's API token is stored: never in clear."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_device(gate_name: str, name: str | None = None) -> tuple[GateDevice, str]:
    """Make a device for a gate (creating the gate); return it and its token once."""
    gate = db.session.scalar(db.select(Gate).where(Gate.name == gate_name))
    if gate is None:
        gate = Gate(name=gate_name)
        db.session.add(gate)
        db.session.flush()
    token = "gd_" + secrets.token_urlsafe(32)
    device = GateDevice(gate=gate, name=name or f"{gate_name}-{len(gate.devices) + 1}",
                        token_hash=device_token_hash(token))
    db.session.add(device)
    db.session.flush()
    return device, token


def new_device_token(device: GateDevice) -> str:
    """Replace a device's API token (enrolment, rotation); returns the new one, once."""
    token = "gd_" + secrets.token_urlsafe(32)
    device.token_hash = device_token_hash(token)
    return token


def device_for_token(token: str) -> GateDevice | None:
    """The active device a bearer token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    device = db.session.scalar(db.select(GateDevice).options(joinedload(GateDevice.gate)).where(
        GateDevice.token_hash == device_token_hash(token)))
    return device if device and device.active else None


class EnrolRefused(ServiceError):
    status = 403
