"""Files the office takes away from the command line: owner-only, every one of them.

An export holds names and phone numbers, a setup QR yields a device token and the
signing keys, a backup holds everything: none of them is for the other users of the
machine, whatever the umask says.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def private_path(path: str | os.PathLike) -> Path:
    """Create ``path`` empty with mode 0600 (an existing file is replaced, so an old
    0644 file does not keep its mode); tools that write by name (pg_dump) fill it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


@contextmanager
def open_private(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open(path, mode)`` of a file only its owner may read."""
    with open(private_path(path), mode, **kwargs) as fh:
        yield fh


def write_private(path: str | os.PathLike, data: bytes) -> None:
    with open_private(path, "wb") as fh:
        fh.write(data)
