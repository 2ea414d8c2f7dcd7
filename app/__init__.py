"""The pass service: ``create_app(config)`` builds the Flask application.

The domain (tokens, verdicts, rules) lives in the top-level ``gatepass``
package, which the gate scanner imports without Flask; this package is the
web service only, so it may import Flask at the top like any Flask app.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import api, auth, commands, errors, i18n, logs, office, public, resident, security
from .config import PROJECT_ROOT, from_environment
from .extensions import init_extensions


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(PROJECT_ROOT / "templates"))
    app.config.update(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    logs.init_app(app)
    init_extensions(app, locale_selector=i18n.select_locale)
    for module in (i18n, security, auth, errors, commands):
        module.init_app(app)
    for blueprint in (auth.bp, api.bp, office.bp, resident.bp, public.bp):
        app.register_blueprint(blueprint)
    return app
