"""``flask --app app init-db``: create or upgrade the schema."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db



@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask_migrate import upgrade
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")
