"""The service's key ring, reloaded when keys/ changes.

Every scan and every phone page needs the ring, so it is cached: a request costs one
``stat`` of the directory (its mtime changes whenever ``keys create|rotate|retire``
writes a file, since they replace files atomically), and the full per-file fingerprint
is re-read at most every ``RECHECK`` seconds to catch an edit in place. A retired key
is therefore denied by every worker at its next request.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flask import current_app

from gatepass.tokens import KeyRing

RECHECK = 2.0  # seconds

_lock = threading.Lock()
_cache: dict[str, tuple[int, tuple, float, KeyRing]] = {}


def _fingerprint(directory: Path) -> tuple:
    if not directory.is_dir():
        return ()
    return tuple(sorted((f.name, f.stat().st_mtime_ns) for f in directory.glob("*.key")))


def _dir_mtime(directory: Path) -> int:
    try:
        return os.stat(directory).st_mtime_ns
    except FileNotFoundError:
        return 0


def key_ring(directory: str | os.PathLike | None = None) -> KeyRing:
    path = Path(directory or current_app.config["KEYS_DIR"])
    key = str(path)
    mtime, now = _dir_mtime(path), time.monotonic()
    hit = _cache.get(key)
    if hit and hit[0] == mtime and now - hit[2] < RECHECK:
        return hit[3]
    with _lock:
        fp = _fingerprint(path)
        hit = _cache.get(key)
        if hit and hit[0] == mtime and hit[1] == fp:
            _cache[key] = (mtime, fp, now, hit[3])
            return hit[3]
        ring = KeyRing.load(path)
        _cache[key] = (mtime, fp, now, ring)
        return ring


# -- changing the ring (the keys CLI): audited here, where the change is made -----------

def _keys_dir() -> str:
    return current_app.config["KEYS_DIR"]


def _audit(action: str, kid: str) -> None:
    """Key changes go into the audit trail (the database may not exist yet: then skip)."""
    from ..common.audit import record_action
    from ..extensions import db
    try:
        record_action(action, f"key:{kid}")
        db.session.commit()
    except Exception:  # e.g. `keys create` before `init-db`
        db.session.rollback()


def create_key(kid: str | None = None, *, rotate: bool = False):
    """A new signing key in KEYS_DIR; it signs every pass from now on (ValueError: bad kid).
    ``rotate``: audited as a rotation (older keys still verify until retired)."""
    key = KeyRing.create_key(_keys_dir(), kid)
    _audit("keys.rotate" if rotate else "keys.create", key.kid)
    return key


def retire_key(kid: str) -> None:
    """Deny every pass signed with ``kid`` (ValueError: no such key)."""
    KeyRing.retire_key(_keys_dir(), kid)
    _audit("keys.retire", kid)
