"""``flask --app app passes issue-subdistrict``: a pass accepted at every gate of a sub-district.

For cadres sent to staff checkpoints and crews serving several communities; the work is in
``app.services.subdistrict_passes`` (held by the sub-district's pseudo-community, signed with
its key, which never leaves the server).
"""
from __future__ import annotations

import click

from ..extensions import db
from ..services import issuing
from ..services import subdistrict_passes as service
from .passes import passes_cli


@passes_cli.command("issue-subdistrict")
@click.argument("name")
@click.option("--subdistrict", required=True, help="the sub-district (街道) name")
@click.option("--phone", help="the holder's phone (unique within the sub-district's passes)")
@click.option("--category", type=click.Choice(service.CATEGORIES), default="staff",
              show_default=True)
@click.option("--employer", default="", help="e.g. the bureau that sent them")
@click.option("--days", type=click.IntRange(1, service.MAX_DAYS), default=service.DEFAULT_DAYS,
              show_default=True, help="valid this many days from now")
def issue_subdistrict(name, subdistrict, phone, category, employer, days):
    """Issue NAME a sub-district-wide pass; prints its code, validity and card token.

    Gates verify it online only: a gate that is offline answers ONLINE_ONLY."""
    try:
        p = service.issue_subdistrict_pass(subdistrict, name, phone=phone, category=category,
                                           employer=employer, days=days)
        token = issuing.static_token(p)
        db.session.commit()
    except service.SubdistrictPassError as err:
        db.session.rollback()
        raise click.ClickException(str(err))
    click.echo(f"issued sub-district pass {p.code} to {name} ({category}), valid until "
               f"{p.valid_until:%Y-%m-%d %H:%M} UTC at every gate of {subdistrict}")
    click.echo(f"card token: {token}")
