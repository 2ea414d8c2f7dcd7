"""Settings from environment variables, with defaults that are safe to run.

Every setting can be overridden by an environment variable of the same name
(``DATABASE_URL``, ``KEYS_DIR``...), or by the mapping given to
``create_app(config)`` in tests.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from gatepass.quarantine import FEVER_THRESHOLD

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
#: Run from a checkout (``flask --app app`` in the repo), or installed from the wheel?
IN_CHECKOUT = (PROJECT_ROOT / "setup.cfg").exists() and (PROJECT_ROOT / "templates").is_dir()


def resource_dir(name: str) -> Path:
    """``templates`` or ``migrations``: at the top of a checkout, inside the package when
    installed from the wheel (setup.py puts them there)."""
    return PROJECT_ROOT / name if IN_CHECKOUT else PACKAGE_DIR / name


def _instance_secret(instance_path: Path) -> str:
    """A per-installation SECRET_KEY kept in instance/, never in git."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(instance_path: Path) -> dict:
    env = os.environ.get
    return {
        "SECRET_KEY": env("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL")
        or f"sqlite:///{instance_path / 'gatepass.db'}",
        # keys/ in a checkout; next to the database (instance/keys) when installed.
        "KEYS_DIR": env("KEYS_DIR") or str(PROJECT_ROOT / "keys" if IN_CHECKOUT
                                           else instance_path / "keys"),
        "COMMUNITY_NAME": env("COMMUNITY_NAME") or "幸福里社区",
        "TIMEZONE": env("TIMEZONE") or "Asia/Shanghai",
        # How long a phone (dynamic) code stays valid after it was drawn.
        "DYNAMIC_TOKEN_MAX_AGE": int(env("DYNAMIC_TOKEN_MAX_AGE") or 60),
        # How often the phone page redraws its code (must be < max age).
        "DYNAMIC_TOKEN_REFRESH": int(env("DYNAMIC_TOKEN_REFRESH") or 30),
        "BABEL_DEFAULT_LOCALE": env("BABEL_DEFAULT_LOCALE") or "zh",
        "LANGUAGES": ["zh", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": (env("SESSION_COOKIE_SECURE") or "") == "1",
        # A login lasts about one shift; logging out ends it on the server (auth.py).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=float(env("SESSION_HOURS") or 12)),
        # Wrong passwords: per username and address, and per address ("N per M minutes",
        # counted in the database: every gunicorn worker sees the same count).
        "LOGIN_LIMIT_PER_USER": env("LOGIN_LIMIT_PER_USER") or "10 per 5 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": env("LOGIN_LIMIT_PER_ADDRESS") or "60 per 5 minutes",
        # Setup-code exchanges per client address (a code is 32 random characters anyway).
        "ENROLL_LIMIT": env("ENROLL_LIMIT") or "20 per minute",
        # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (0 = none).
        "PROXY_FIX_HOPS": int(env("PROXY_FIX_HOPS") or 0),
        # Pages send no Referer (Referrer-Policy: no-referrer: links carry secrets), so the
        # CSRF check cannot demand one over HTTPS; the session-bound token (and SameSite
        # cookies) is the protection.
        "WTF_CSRF_SSL_STRICT": False,
        "WTF_CSRF_TIME_LIMIT": None,  # a shift is long; the token dies with the session
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # A pooled connection is tested before use: after PostgreSQL restarts, the first
        # request of every worker would otherwise fail on a connection the server closed.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SCAN_RAW_TEXT_LIMIT": 200,
        "LOG_LEVEL": env("LOG_LEVEL") or "INFO",
        # How long a worker keeps the category rules before reading them again (a change
        # made through the service clears its own worker's copy at once).
        "RULES_CACHE_SECONDS": float(env("RULES_CACHE_SECONDS") or 3),
        # A reading at or above this (°C) is a fever: denied at the gate, an alert at home.
        "FEVER_THRESHOLD": float(env("FEVER_THRESHOLD") or FEVER_THRESHOLD),
        # Home quarantine (docs/health.md): its length, when a report is overdue,
        # whether a returnee's pass is suspended for the stay (else exits are denied).
        "QUARANTINE_DAYS": int(env("QUARANTINE_DAYS") or 14),
        "REPORT_OVERDUE_AM": env("REPORT_OVERDUE_AM") or "10:00",
        "REPORT_OVERDUE_PM": env("REPORT_OVERDUE_PM") or "18:00",
        "QUARANTINE_SUSPENDS_PASS": (env("QUARANTINE_SUSPENDS_PASS") or "") == "1",
        # Self-registrations accepted per client address per hour (the poster is public).
        "REGISTRATION_RATE_LIMIT": int(env("REGISTRATION_RATE_LIMIT") or 10),
        # Homes not checked (door knock / video) for this many days are listed.
        "HOME_CHECK_DAYS": int(env("HOME_CHECK_DAYS") or 3),
        # The service's address as residents' phones and gate laptops reach it: the base of
        # every URL printed in a QR code or sent (posters, certificates, personal links,
        # setup QRs). "" = the address of the request that makes it (see public_base_url).
        "PUBLIC_BASE_URL": (env("PUBLIC_BASE_URL") or "").rstrip("/"),
        # The sub-district's page counts a gate online when one of its devices called in
        # within this many minutes (a scanner fetches its snapshot every 30 s).
        "GATE_ONLINE_MINUTES": int(env("GATE_ONLINE_MINUTES") or 5),
        # ...and recounts residents, active passes and today's scans (app/district/counted.py)
        # when its kept count is older than this; scans since the count are added live.
        "DISTRICT_RECOUNT_SECONDS": int(env("DISTRICT_RECOUNT_SECONDS") or 300),
    }


def community_tz():
    """The community's time zone (config TIMEZONE): what "today", shift hours and printed
    dates mean at the gate."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    return ZoneInfo(current_app.config["TIMEZONE"])


def community_time(value: str | None):
    """A date-time typed into a filter or form (``2022-04-01``, ``2022-04-01T08:00``) as an
    aware datetime: in the community's zone unless it names its own offset; None when
    empty, unreadable or with no UTC equivalent (``0001-01-01`` east of Greenwich): a
    search filter then simply does not apply."""
    from datetime import datetime, timezone

    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=community_tz())
        dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return dt


def filter_id(value) -> int | None:
    """A row id typed into a filter or a form (``?gate=3``), or None when it is not a
    whole number a database integer holds (``?gate=99999999999999999999`` was a 500)."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    return int(text) if 0 < int(text) < 2**31 else None


#: Where printed URLs point when PUBLIC_BASE_URL is unset and no request names a host:
#: this machine, which no resident's phone reaches. Whoever prints it warns (below).
FALLBACK_BASE_URL = "http://127.0.0.1:5000"


def base_url_guessed() -> bool:
    """True when PUBLIC_BASE_URL is unset: a URL put into a QR (poster, certificate, link
    poster, setup QR) then points at whatever host made it, often 127.0.0.1, and every
    command and page that prints one says so (``commands.warn_guessed_base``, the
    ``base_url_warning`` macro) instead of printing a dead QR in silence."""
    from flask import current_app
    return not current_app.config.get("PUBLIC_BASE_URL")


def printed_base_url() -> str:
    """The base of a URL printed into a QR: ``public_base_url()``, else ``FALLBACK_BASE_URL``."""
    return public_base_url() or FALLBACK_BASE_URL


def public_base_url() -> str:
    """Where people and gates reach the service: PUBLIC_BASE_URL, else this request's host,
    else "" (a command outside a request: the caller says what it falls back to)."""
    from flask import current_app, has_request_context, request

    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if base:
        return base.rstrip("/")
    return request.url_root.rstrip("/") if has_request_context() else ""
