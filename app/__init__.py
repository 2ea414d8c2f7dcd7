"""The pass service: ``create_app(config)`` builds the Flask application.

The domain (tokens, verdicts, rules) lives in the top-level ``gatepass``
package, which the gate scanner imports without Flask; this package is the
web service only, so it may import Flask at the top like any Flask app.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from . import api, auth, commands, errors, i18n, logs, office, public, resident, security, templating
from . import duty, health  # noqa: F401  (features: their models; their routes join the blueprints)
from . import rls, tenancy  # noqa: F401  (rls: create_all's row-level security on PostgreSQL)
from .config import from_environment, resource_dir
from .extensions import init_extensions


def create_app(config: dict | None = None) -> Flask:
    # GATEPASS_INSTANCE: where the database, secret key and (installed) keys live.
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("GATEPASS_INSTANCE") or None,
                template_folder=str(resource_dir("templates")))
    app.config.update(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    _private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    logs.init_app(app)
    init_extensions(app, locale_selector=i18n.select_locale)
    for module in (tenancy, templating, security, auth, errors, commands):
        module.init_app(app)
    for blueprint in (auth.bp, api.bp, office.bp, resident.bp, public.bp):
        app.register_blueprint(blueprint)
    return app


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (SQLite gives its -wal and
    -shm files the same mode). Residents' names and phones are in it."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
