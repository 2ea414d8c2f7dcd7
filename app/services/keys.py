"""The service's key ring, reloaded when the files in keys/ change."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import current_app

from gatepass.tokens import KeyRing

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, KeyRing]] = {}


def _fingerprint(directory: Path) -> tuple:
    if not directory.is_dir():
        return ()
    return tuple(sorted((f.name, f.stat().st_mtime_ns) for f in directory.glob("*.key")))


def key_ring(directory: str | os.PathLike | None = None) -> KeyRing:
    directory = Path(directory or current_app.config["KEYS_DIR"])
    fp = _fingerprint(directory)
    with _lock:
        hit = _cache.get(str(directory))
        if hit and hit[0] == fp:
            return hit[1]
        ring = KeyRing.load(directory)
        _cache[str(directory)] = (fp, ring)
        return ring
