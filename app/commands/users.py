"""``flask --app app users``: staff logins.

A community's staff belong to one community (``--community CODE``, optional while there is
one) and may serve more (``--also CODE``: a guard sent to another community's checkpoint);
a sub-district user (``--role district --subdistrict NAME``) belongs to no community and
reads every community of the sub-district (``app.tenancy.scope_for_user``).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from gatepass.roles import Role

from ..extensions import db
from .scope import resolve_community


users_cli = AppGroup("users", help="Staff logins.")

@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.OFFICE.value)
@click.option("--name", "display_name", default="")
@click.option("--community", "community_code", metavar="CODE",
              help="the user's community (required when there are several; not for district)")
@click.option("--subdistrict", default="", help="role district: the sub-district (街道) it reads")
@click.option("--also", "also_codes", multiple=True, metavar="CODE",
              help="a further community this user serves (repeatable)")
@click.password_option()
def users_create(username, role, display_name, community_code, subdistrict, also_codes, password):
    from ..models import User
    if db.session.scalar(db.select(User).where(User.username == username)):
        raise click.ClickException(f"user {username} exists")
    user = User(username=username, role=role, display_name=display_name or username)
    if role == Role.DISTRICT:
        if not subdistrict.strip() or community_code:
            raise click.UsageError("a district user needs --subdistrict NAME and no --community")
        user.subdistrict = subdistrict.strip()
    else:
        home = resolve_community(community_code)
        user.community_id = home.id
        user.subdistrict = home.subdistrict
        user.also_serves = [resolve_community(code) for code in also_codes]
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    where = f"sub-district {user.subdistrict}" if role == Role.DISTRICT else \
        f"community {resolve_community(community_code).code}"
    click.echo(f"created {role} {username} ({where})")
