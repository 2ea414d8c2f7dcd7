"""Gate devices: the scanner laptops, each with its own API token.

The token is shown once, when the device is made, and stored only as a
SHA-256 hash: a copy of the database does not let anyone post scans.
"""
from __future__ import annotations

import hashlib
import secrets

from ..extensions import db
from ..models import Gate, GateDevice


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


def device_for_token(token: str) -> GateDevice | None:
    """The active device a bearer token belongs to, or None."""
    if not token:
        return None
    device = db.session.scalar(db.select(GateDevice).where(
        GateDevice.token_hash == device_token_hash(token)))
    return device if device and device.active else None
