"""The one place that turns errors into responses: JSON for the gate API, pages for people.

* HTTP errors (``abort(404)``, werkzeug's ``BadRequest("...")``) become
  ``{"error", "message"}`` under ``/api/`` and the error page elsewhere.
* A ``ServiceError`` (a refusal from a service, in both languages) becomes
  ``{"error": code, "message", "message_en"}`` with its status under ``/api/``;
  on a page it is flashed in the reader's language and the browser goes back
  to the page it came from, with nothing written (the session is rolled back).
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask import flash, jsonify, redirect, render_template, request, url_for

from .extensions import db
from .i18n import lang
from .security import same_site_path
from .common.errors import ServiceError

MESSAGES = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
            405: "method not allowed", 409: "conflict", 413: "request too large",
            429: "too many requests", 500: "internal error"}


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


def service_error(err: ServiceError):
    db.session.rollback()
    if _is_api():
        return jsonify(error=err.code, message=err.message_en, message_zh=err.message,
                       message_en=err.message_en), err.status
    flash(err.text(lang()), "error")
    return redirect(_back())


def init_app(app) -> None:
    for code in MESSAGES:
        app.register_error_handler(code, http_error)
    app.register_error_handler(ServiceError, service_error)
