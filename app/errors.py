"""The one place that turns errors into responses: JSON for the gate API, pages for people.

* HTTP errors (``abort(404)``, werkzeug's ``BadRequest("...")``) become
  ``{"error", "message"}`` under ``/api/`` and the error page elsewhere.
* A ``ServiceError`` (a refusal from a service, in both languages) becomes
  ``{"error": code, "message", "message_en"}`` with its status under ``/api/``;
  on a page it is flashed in the reader's language and the browser goes back
  to the page it came from, with nothing written (the session is rolled back).
* The database unreachable (stopped, restarting, a network fault) is 503 with
  ``Retry-After`` (a gate retries; a page says so), and one log line per outage per
  worker rather than a traceback with SQL and parameters per request; the next new
  connection logs that it is back.
* A JSON body is refused (400) before any view sees it when it nests deeper than a
  gate ever sends (1,000 levels were a RecursionError, a 500), or when a string in
  it holds what the database cannot store: a NUL byte (PostgreSQL text and jsonb
  refuse it) or a lone surrogate (not UTF-8). Other control characters are stored
  as sent and escaped where a format cannot hold them (XLSX exports).
"""
from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlparse

from flask import Request, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest

from .extensions import db, login_manager
from .i18n import lang
from .security import same_site_path
from .common.errors import ServiceError

MESSAGES = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
            405: "method not allowed", 409: "conflict", 413: "request too large",
            429: "too many requests", 500: "internal error", 503: "database unavailable"}
#: Seconds a client is asked to wait while the database is unreachable.
DB_RETRY_AFTER = 5
log = logging.getLogger("gatepass.database")
_outage = {"since": None}
_outage_lock = threading.Lock()


#: Deeper than any body a gate or a page sends (an event's fields are two levels).
JSON_MAX_DEPTH = 32


def json_problem(data) -> str | None:
    """Why a parsed JSON body cannot be taken (None if it can); iterative, so a deep
    body is measured without recursing."""
    stack = [(data, 1, "body")]
    while stack:
        value, depth, where = stack.pop()
        if depth > JSON_MAX_DEPTH:
            return f"JSON nested deeper than {JSON_MAX_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, depth, where))
                stack.append((item, depth + 1, f"{where}.{key}"[:60]))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, where) for item in value)
        elif isinstance(value, str):
            if "\x00" in value:
                return f"{where} contains a NUL byte"
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{where} is not valid Unicode (a lone surrogate)"
    return None


class CheckedRequest(Request):
    """Flask's request with JSON bodies checked once for every view (see above)."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            data = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise BadRequest(f"JSON nested deeper than {JSON_MAX_DEPTH} levels") from None
        problem = json_problem(data)
        if problem:
            raise BadRequest(problem)
        return data


def _is_api() -> bool:
    """The gate API, and a page's own JSON calls (the gate page's fetch): they read JSON."""
    return request.path.startswith("/api/") or request.is_json


def _back() -> str:
    """Where a refused form goes back to: the page it was on, never another site.

    Browsers send no Referer here (Referrer-Policy: no-referrer), so forms carry the page
    they were on as ``next`` (static/app.js adds it)."""
    target = same_site_path(request.form.get("next")) if request.method == "POST" else None
    if target:
        return target
    ref = request.referrer or ""
    parsed = urlparse(ref)
    if ref and parsed.netloc == request.host and parsed.scheme in ("http", "https"):
        return ref
    return url_for("office.home")


def http_error(err):
    code = getattr(err, "code", 500) or 500
    if _is_api():
        message = getattr(err, "description", None) or MESSAGES.get(code, "error")
        return jsonify(error=MESSAGES.get(code, "error").replace(" ", "_"),
                       message=message), code
    return render_template("error.html", code=code), code


def out_of_range(err):
    """A query value no column or date can hold (page=1e20 as digits, day=0001-01-01 east
    of Greenwich): the request is bad, not the service. The last guard behind the
    parsers' own checks (tests/test_probe_inputs.py sweeps every GET route)."""
    db.session.rollback()
    return http_error(BadRequest("a value in the request is out of range"))


def _unreachable(err) -> bool:
    """An error of the link to the database, not of the statement: every PostgreSQL
    OperationalError (refused, shut down, restarting) and SQLite's locked or missing file.
    SQLite's other OperationalErrors (a missing table) stay 500s."""
    if getattr(err, "connection_invalidated", False) or isinstance(err, InterfaceError):
        return True
    text = str(getattr(err, "orig", err))
    return db.engine.dialect.name != "sqlite" or "locked" in text or "unable to open" in text


def database_unavailable(err):
    """503 + Retry-After, logged once when an outage starts (see _database_back)."""
    if not _unreachable(err):
        raise err
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; nothing to roll back
        pass
    with _outage_lock:
        first, _outage["since"] = _outage["since"] is None, _outage["since"] or time.monotonic()
    if first:
        log.warning("database unreachable, answering 503 until it is back: %s",
                    str(getattr(err, "orig", err)).splitlines()[0][:200])
    if _is_api():
        resp = jsonify(error="database_unavailable", message="the database is unreachable: "
                       f"retry in {DB_RETRY_AFTER} s")
    else:
        g._login_user = login_manager.anonymous_user()  # the page's menu must not load the user
        resp = render_template("error.html", code=503)
    return resp, 503, {"Retry-After": str(DB_RETRY_AFTER)}


@event.listens_for(Engine, "connect")
def _database_back(_dbapi_connection, _record):
    """A new connection after an outage: say once that the database is back."""
    with _outage_lock:
        since, _outage["since"] = _outage["since"], None
    if since is not None:
        log.warning("database reachable again after %.0f s", time.monotonic() - since)


def service_error(err: ServiceError):
    db.session.rollback()
    if _is_api():
        return jsonify(error=err.code, message=err.message_en, message_zh=err.message,
                       message_en=err.message_en), err.status
    flash(err.text(lang()), "error")
    return redirect(_back())


def init_app(app) -> None:
    app.request_class = CheckedRequest
    for code in MESSAGES:
        app.register_error_handler(code, http_error)
    app.register_error_handler(ServiceError, service_error)
    app.register_error_handler(OverflowError, out_of_range)
    app.register_error_handler(DataError, out_of_range)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)
