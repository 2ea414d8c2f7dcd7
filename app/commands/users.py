"""``flask --app app users``: staff logins."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from gatepass.roles import Role

from ..extensions import db


users_cli = AppGroup("users", help="Staff logins.")

@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.OFFICE.value)
@click.option("--name", "display_name", default="")
@click.password_option()
def users_create(username, role, display_name, password):
    from ..models import User
    if db.session.scalar(db.select(User).where(User.username == username)):
        raise click.ClickException(f"user {username} exists")
    user = User(username=username, role=role, display_name=display_name or username)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {username}")
