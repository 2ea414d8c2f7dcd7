"""Logging for the service and the gate scanner: one line per record on stderr, no secrets.

Resident links (``/p/<link>``), verify tokens and registration links
(``/register/<poster>``, ``/register/status/<status>``: a status link shows the
arrival's pass link) are secrets: the request filter replaces their variable
part before anything is written.
"""
from __future__ import annotations

import logging
import re
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Path parts that are bearer secrets: a resident's link, a setup code, a registration's
#: status link and a gate poster's link (``/register/status/`` before ``/register/``).
SECRET_PATHS = re.compile(r"(/p/|/verify/|/r/|/enroll/|/register/status/|/register/)[^/?\s\"]+")


def redact(text: str) -> str:
    """``/p/eyJ…/qr.svg`` -> ``/p/…/qr.svg``: enough to read a log, useless to replay."""
    return SECRET_PATHS.sub(lambda m: m.group(1) + "…", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args) \
                if isinstance(record.args, tuple) else record.args
        return True


def configure(level: str = "INFO") -> None:
    """Root logging to stderr, once per process (the scanner calls this too)."""
    root = logging.getLogger()
    if any(getattr(h, "_gatepass", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets())
    handler._gatepass = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
