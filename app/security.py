"""Per-request security helpers for templates.

``csp_nonce()`` gives the request's Content-Security-Policy nonce: every inline
``<script>`` carries ``nonce="{{ csp_nonce() }}"`` (no inline event handlers),
so the policy can forbid every other script.
"""
from __future__ import annotations

import secrets

from flask import g


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_app(app) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
