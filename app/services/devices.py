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

from sqlalchemy import inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from gatepass.wire import ENROLL_CODE_LENGTH, enroll_text

from ..extensions import db
from ..models import EnrolmentCode, Gate, GateDevice
from ..common.audit import record_action
from ..common.errors import ServiceError, must_exist
from .keys import key_ring
from ..common.worker_cache import WorkerCache
from ..tenancy import narrow_to

#: How long a setup QR works.
ENROLL_VALID = timedelta(minutes=10)
#: last_seen_at is written at most this often (every scan writing the device row would
#: make all of a gate's requests queue on one row lock).
SEEN_EVERY = timedelta(seconds=30)


def device_token_hash(token: str) -> str:
    """How a gate device's API token is stored: never in clear."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_device(gate_name: str, name: str | None = None) -> tuple[GateDevice, str]:
    """Make a device for a gate (creating the gate); return it and its token once. Audited here,
    so the office page, the CLI and enrolment record it alike."""
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
    record_action("device.create", f"device:{device.id}", detail=f"{gate_name} {device.name}")
    return device, token


def new_device_token(device: GateDevice) -> str:
    """Replace a device's API token (enrolment, rotation); returns the new one, once."""
    token = "gd_" + secrets.token_urlsafe(32)
    device.token_hash = device_token_hash(token)
    return token


#: A device found by its token is remembered this long per worker (every scan needs it);
#: a change to any device in this process forgets at once, other workers within this time.
DEVICE_CACHE_SECONDS = 2.0


def device_for_token(token: str) -> GateDevice | None:
    """The active device a bearer token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    digest = device_token_hash(token)
    cached = _cache.get(digest)
    if cached is not None:
        # A copy of the row loaded a moment ago, attached without a query.
        return db.session.merge(cached, load=False)
    device = db.session.scalar(db.select(GateDevice).options(joinedload(GateDevice.gate)).where(
        GateDevice.token_hash == digest))
    if device is None or not device.active:
        return None
    db.session.expunge(device.gate)  # both out of the session before its commit expires them
    db.session.expunge(device)
    _cache.put(digest, device)
    return db.session.merge(device, load=False)


def forget_devices() -> None:
    _cache.clear()


def _token_or_state_changed(session, device: GateDevice) -> bool:
    """A device made, deleted, disabled or given a new token is looked up afresh (a
    last-seen write is not: it happens every 30 s)."""
    if device in session.new or device in session.deleted:
        return True
    state = inspect(device)
    return any(state.attrs[name].history.has_changes() for name in ("token_hash", "active"))


_cache = WorkerCache("gatepass.devices", GateDevice, seconds=lambda: DEVICE_CACHE_SECONDS,
                     changed=_token_or_state_changed)


class EnrolRefused(ServiceError):
    status = 403


def touch_device(device: GateDevice, version: str | None, waiting: str | None) -> None:
    """Note what a scanner's headers say; the caller's commit writes it."""
    now = datetime.now(timezone.utc)
    version = (version or "").replace("\x00", "")[:40] or device.scanner_version
    count = int(waiting) if waiting and waiting.isdigit() and len(waiting) < 10 else \
        device.outbox_waiting
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY \
            or version != device.scanner_version or count != device.outbox_waiting:
        device.last_seen_at, device.scanner_version, device.outbox_waiting = now, version, count
        _seen_in_cache(device)


def _seen_in_cache(device: GateDevice) -> None:
    """The worker's cached copy learns what was just written, or every request in the next
    seconds would write the device row again."""
    for cached in _cache.values():
        if cached.id == device.id:  # as loaded, not as a change (merge(load=False) needs that)
            for name in ("last_seen_at", "scanner_version", "outbox_waiting"):
                set_committed_value(cached, name, getattr(device, name))


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_enrolment(device: GateDevice, server: str) -> tuple[str, datetime]:
    """A one-time setup QR text for ``device``; (text, expires_at)."""
    code = secrets.token_urlsafe(24)[:ENROLL_CODE_LENGTH]
    expires = datetime.now(timezone.utc) + ENROLL_VALID
    db.session.add(EnrolmentCode(device=device, code_hash=_code_hash(code), expires_at=expires))
    record_action("device.enrol_code", f"device:{device.id}", detail=device.gate.name)
    return enroll_text(code, server), expires


def enrol_new_device(gate: str, server: str, name: str | None = None
                     ) -> tuple[GateDevice, str, datetime]:
    """Create a device for ``gate`` (no token anyone knows yet) and its setup QR text."""
    device, _token = create_device(gate, name)  # the token is replaced on enrolment
    text, expires = new_enrolment(device, server)
    return device, text, expires


def redeem(code: str, scanner_version: str | None = None) -> dict:
    """Exchange a setup code for a fresh device token and the key ring, once."""
    now = datetime.now(timezone.utc)
    row = db.session.scalar(db.select(EnrolmentCode).where(
        EnrolmentCode.code_hash == _code_hash(code)).with_for_update())
    if row is None or row.used_at is not None or row.expires_at <= now \
            or not row.device.active:
        raise EnrolRefused("ENROL_REFUSED", "设置码无效、已使用或已过期，请在办公室重新生成",
                           "setup code unknown, used or expired: make a new one at the office")
    narrow_to(row.community_id)  # the request found the code in every community
    row.used_at = now
    device = row.device
    token = new_device_token(device)
    if scanner_version:
        device.scanner_version = scanner_version.replace("\x00", "")[:40]
    device.last_seen_at = now
    record_action("device.enrolled", f"device:{device.id}", detail=device.gate.name)
    db.session.commit()
    return {"device_id": device.id, "device_name": device.name, "gate": device.gate.name,
            "device_token": token, "keys": key_file_entries()}


def key_file_entries() -> list[dict]:
    """The key ring in the key-file JSON format (``gatepass.tokens.KeyRing``), for a gate."""
    return [{"kid": k.kid, "secret": k.secret.hex(), "created": k.created.isoformat(),
             "retired": k.retired.isoformat() if k.retired else None} for k in key_ring()]


def get_device(device_id: int) -> GateDevice:
    return must_exist(db.session.get(GateDevice, device_id),
                      "NO_DEVICE", f"没有设备 {device_id}", f"no device {device_id}")


def disable(device: GateDevice) -> None:
    device.active = False
    record_action("device.disable", f"device:{device.id}", detail=device.gate.name)


def enable(device: GateDevice) -> None:
    device.active = True
    record_action("device.enable", f"device:{device.id}", detail=device.gate.name)


def rotate_token(device: GateDevice) -> str:
    """A new API token for ``device``; the old one stops working at once."""
    token = new_device_token(device)
    device.token_rotated_at = datetime.now(timezone.utc)
    record_action("device.rotate_token", f"device:{device.id}", detail=device.gate.name)
    return token
