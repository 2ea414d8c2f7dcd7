"""Security headers for every response, and the CSP nonce for templates.

``csp_nonce()`` gives the request's Content-Security-Policy nonce: every inline
``<script>`` carries ``nonce="{{ csp_nonce() }}"`` (no inline event handlers; the
few behaviours pages need are ``data-`` attributes handled by ``static/app.js``), so
the policy forbids every other script. Links carry secrets (a resident's ``/p/<link>``),
so no page sends a Referer anywhere; office pages and the login page are never cached
(a shared office PC's back button must not show the last person's data).
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import g, request

#: Inline ``style=""`` attributes (bar widths, colour swatches) are allowed; scripts are not.
CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
NO_STORE_PREFIXES = ("/office", "/login", "/logout", "/p/")


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def security_headers(response):
    h = response.headers
    if request.path.startswith("/api/"):  # JSON for gates: no page to protect, keep it lean
        h.setdefault("X-Content-Type-Options", "nosniff")
        return response
    h.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith(NO_STORE_PREFIXES) or request.path == "/":
        h["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(security_headers)
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:  # behind nginx/Caddy: trust exactly that many X-Forwarded-* hops
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def same_site_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site (a ``next`` to go back to), else None.

    Browsers drop tabs and newlines from a URL and read ``\\`` as ``/``, so
    ``/\\t/evil.example`` and ``/\\evil.example`` are ``//evil.example``: another site.
    A target with any control character or backslash is refused outright, and what
    remains must be an absolute path with no scheme and no host. Every place that
    reads ``next`` (the login, refused forms, bulk actions) asks here.
    """
    if not target or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target
