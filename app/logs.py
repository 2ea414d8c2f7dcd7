"""Logging for the service: stderr, with resident links redacted (see ``gatepass.logs``)."""
from __future__ import annotations

import logging

from gatepass.logs import RedactSecrets, configure


def init_app(app) -> None:
    configure(app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("werkzeug").addFilter(RedactSecrets())
