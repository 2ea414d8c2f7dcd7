"""The gate laptop's own configuration: where its service is, its device token, its keys.

``python -m scanner enroll`` writes it once from the office's setup QR; ``python -m scanner
run`` reads it so a guard starts the scanner with ``--source 0`` and nothing else (flags
still override). It holds a bearer secret and the pass-signing keys, so the folder is the
owner's only (0700) and every file in it 0600, written atomically.

Location: ``$GATEPASS_SCANNER_HOME``, else ``${XDG_CONFIG_HOME:-~/.config}/gatepass-scanner``.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from gatepass.tokens import KID_PATTERN

CONFIG_FILE = "config.json"
KEYS_FOLDER = "keys"
FIELDS = ("server", "device_token", "device_id", "gate")


def config_dir() -> Path:
    home = os.environ.get("GATEPASS_SCANNER_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "gatepass-scanner"


def keys_dir(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / KEYS_FOLDER


def load(folder: Path | None = None) -> dict:
    """config.json as a dict ({} when the laptop is not enrolled or the file is unreadable)."""
    try:
        data = json.loads(((folder or config_dir()) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in FIELDS if k in data} if isinstance(data, dict) else {}


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is cut by the umask, and an old folder may be wider


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def check_keys(keys) -> list[dict]:
    """The enrolment reply's key list in KeyRing's file format; ValueError on anything odd
    (a key id is a file name: nothing but KID_PATTERN gets near the disk)."""
    if not isinstance(keys, list) or not keys:
        raise ValueError("no keys in the reply")
    out = []
    for key in keys:
        if not isinstance(key, dict):
            raise ValueError("a key is not an object")
        kid, secret = key.get("kid"), key.get("secret")
        if not isinstance(kid, str) or not KID_PATTERN.match(kid):
            raise ValueError(f"bad key id {kid!r}")
        if not isinstance(secret, str) or len(secret) < 32:
            raise ValueError(f"bad secret for key {kid}")
        bytes.fromhex(secret)
        created, retired = key.get("created"), key.get("retired")
        datetime.fromisoformat(str(created))
        if retired is not None:
            datetime.fromisoformat(str(retired))
        out.append({"kid": kid, "secret": secret, "created": created, "retired": retired})
    return out


def save(settings: dict, keys: list[dict], folder: Path | None = None) -> Path:
    """Write config.json and keys/<kid>.key (replacing keys of an earlier enrolment)."""
    folder = folder or config_dir()
    keys = check_keys(keys)
    _private_dir(folder)
    kdir = keys_dir(folder)
    _private_dir(kdir)
    for old in kdir.glob("*.key"):
        if old.stem not in {k["kid"] for k in keys}:
            old.unlink()
    for key in keys:
        _write_private(kdir / f"{key['kid']}.key", json.dumps(key, indent=1))
    _write_private(folder / CONFIG_FILE,
                   json.dumps({k: settings.get(k) for k in FIELDS}, ensure_ascii=False, indent=1))
    return folder
