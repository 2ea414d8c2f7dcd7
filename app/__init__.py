"""The pass service: ``create_app(config)`` builds the Flask application.

Imports live inside ``create_app`` so that the gate scanner, which imports
only the ``app.passes`` domain package, does not load Flask and SQLAlchemy.
"""
from __future__ import annotations

from pathlib import Path


def create_app(config: dict | None = None):
    from flask import Flask

    from .config import PROJECT_ROOT, from_environment
    from .extensions import babel, csrf, db, login_manager, migrate

    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(PROJECT_ROOT / "templates"))
    app.config.update(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import i18n, auth, api, office, resident, cli, errors

    babel.init_app(app, locale_selector=i18n.select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(resident.bp)
    cli.init_app(app)
    return app
