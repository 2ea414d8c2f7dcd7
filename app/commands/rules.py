"""``flask --app app rules``: gate rules per holder category."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from gatepass.categories import CATEGORIES

from ..extensions import db
from ..common.errors import ServiceError
from ..services.rules import set_rule
from .scope import community_option


rules_cli = AppGroup("rules", help="Gate rules per holder category.")

@rules_cli.command("set")
@community_option
@click.argument("category")
@click.option("--hours", default="", help='e.g. "03:00-07:00,16:00-20:00"; empty = any time')
@click.option("--gates", default="", help='e.g. "东门"; empty = any gate')
@click.option("--anti-passback/--no-anti-passback", default=True)
@click.option("--temperature-required/--no-temperature-required", default=False,
              help="every scan of this category needs a temperature (outbreak)")
def rules_set(category, hours, gates, anti_passback, temperature_required):
    if category not in CATEGORIES:
        raise click.ClickException(f"category must be one of {', '.join(CATEGORIES)}")
    try:
        set_rule(category, hours, gates, anti_passback, temperature_required)
    except ServiceError as err:
        raise click.ClickException(str(err))
    db.session.commit()
    click.echo(f"rule for {category}: hours={hours or 'any'} gates={gates or 'any'} "
               f"anti-passback={'on' if anti_passback else 'off'} "
               f"temperature={'required' if temperature_required else 'optional'}")
