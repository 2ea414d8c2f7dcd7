"""``flask --app app demo``: a demo community for a newcomer to click through."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gatepass.tokens import KeyRing

from ..demo import DEMO_LOGINS, build_community, create_demo_users
from ..extensions import db
from ..models import Person


@click.command("demo")
@click.option("--passes", "n_passes", type=int, default=900, show_default=True,
              help="how many passes the demo community has (e.g. 7000 to print a full batch)")
@click.option("--reset", is_flag=True, help="drop all data first")
@click.option("--no-scans", is_flag=True, help="skip the day of demo scans")
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) if there is data already")
@with_appcontext
def demo_command(n_passes, reset, no_scans, if_empty):
    """Fill the database with a demo community and print logins and a device token."""
    if n_passes < 10:
        raise click.ClickException("--passes must be at least 10")
    if reset:
        db.drop_all()
    db.create_all()
    if db.session.scalar(db.select(Person.id).limit(1)) is not None:
        if if_empty:
            click.echo("the database has data already: keeping it (logins: "
                       + ", ".join(f"{u}/{p}" for u, _r, _n, p in DEMO_LOGINS) + ")")
            return
        raise click.ClickException("the database has data already; use --reset to start over")
    ring = KeyRing.load(current_app.config["KEYS_DIR"])
    if not any(k.active for k in ring):
        key = KeyRing.create_key(current_app.config["KEYS_DIR"])
        click.echo(f"created signing key {key.kid}")
    logins = create_demo_users()
    info = build_community(n_passes, scans=not no_scans)
    db.session.commit()
    click.echo(f"demo community: {info['buildings']} buildings, {info['households']} households, "
               f"{info['people']} people ({info['sanitation']} sanitation workers), "
               f"{info['vehicles']} vehicles, {info['passes']} passes, {info['scans']} scans")
    if info.get("health"):
        h = info["health"]
        click.echo(f"home quarantine: {h['in_quarantine']} people in {h['cohorts']} arrival cohorts, "
                   f"{h['pending']} self-registrations waiting, 1 open fever alert (log in as health)")
    click.echo("logins (user / password / role):")
    for username, password, role in logins:
        click.echo(f"  {username} / {password} / {role}")
    duty_info = info["duty"]
    click.echo(f"gate duty: {duty_info['guards']} guards and volunteers, {duty_info['events']} "
               f"logbook events today, {duty_info['places']} scattered compounds; "
               f"guard PIN for 赵师傅 (login guard): 1234")
    click.echo(f"北门 device token: {info['tokens']['北门']}")
    click.echo("东门 device token (for `python -m scanner run --device-token`):")
    click.echo(info["tokens"]["东门"])
