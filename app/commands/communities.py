"""``flask --app app communities``: the communities one service serves (a sub-district).

``list`` prints one line per community, its code first and then its name, separated by
whitespace: scripts read it (``awk '{print $1}'``), so that order is a contract.
Moving a community out to a database of its own is ``backup --community CODE`` here,
``restore`` there, then ``communities remove CODE --yes`` here (docs/deploy.md §9).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from ..services import communities as service
from .retention import refuse_without_yes

communities_cli = AppGroup("communities", help="The communities of this service "
                                               "(create, list, remove).")


@communities_cli.command("create")
@click.argument("code")
@click.option("--name", required=True, help="the community's name, e.g. 清河小区")
@click.option("--subdistrict", default="", help="its sub-district (街道), e.g. 清河街道")
def create_cmd(code, name, subdistrict):
    """Add community CODE (1-20 lower-case letters, digits, - or _), e.g. c2."""
    from ..tenancy import system_scope
    with system_scope():
        try:
            community = service.create_community(code, name, subdistrict)
        except service.CommunityError as err:
            raise click.ClickException(str(err))
        db.session.commit()
        click.echo(f"created community {community.code} {community.name}"
                   + (f" ({community.subdistrict})" if community.subdistrict else ""))


@communities_cli.command("list")
def list_cmd():
    """One line per community: code, name, sub-district."""
    from ..tenancy import system_scope
    with system_scope():
        for c in service.communities():
            click.echo(f"{c.code}\t{c.name}\t{c.subdistrict or '-'}")


@communities_cli.command("remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="really delete (without it: only say what)")
def remove_cmd(code, yes):
    """Delete community CODE and all its rows: after it moved to its own database."""
    from ..tenancy import system_scope
    with system_scope():
        try:
            community = service.by_code(code)
        except service.CommunityError as err:
            raise click.ClickException(str(err))
        if not yes:
            refuse_without_yes(f"community {code} ({community.name}) and every row of it "
                               "would be deleted; back it up first: backup --community "
                               f"{code} OUT", True)
            return
        counts = service.remove_community(community)
        db.session.commit()
        click.echo(f"removed community {code}: "
                   + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        click.echo(f"its signing keys (KEYS_DIR/{code}/) are left on disk: move or delete them")
