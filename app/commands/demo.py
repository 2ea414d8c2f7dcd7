"""``flask --app app demo``: a demo community (or a sub-district of them) to click through."""
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
@click.option("--communities", "n_communities", type=click.IntRange(1, 60),
              help="a sub-district of N communities c1...cN (c1 as without this option), "
                   "with the login district / district-demo")
@click.option("--reset", is_flag=True, help="drop all data first")
@click.option("--no-scans", is_flag=True, help="skip the day of demo scans")
@click.option("--if-empty", is_flag=True, help="do nothing (and succeed) if there is data already")
@with_appcontext
def demo_command(n_passes, n_communities, reset, no_scans, if_empty):
    """Fill the database with a demo community and print logins and a device token."""
    from ..tenancy import system_scope
    if n_passes < 10:
        raise click.ClickException("--passes must be at least 10")
    if reset:
        db.drop_all()
    db.create_all()
    with system_scope():
        if db.session.scalar(db.select(Person.id).limit(1)) is not None:
            if if_empty:
                click.echo("the database has data already: keeping it (logins: "
                           + ", ".join(f"{u}/{p}" for u, _r, _n, p in DEMO_LOGINS) + ")")
                return
            raise click.ClickException("the database has data already; use --reset to start over")
    if n_communities:
        _subdistrict(n_communities, n_passes, not no_scans)
    else:
        _one_community(n_passes, not no_scans)


def _one_community(n_passes: int, scans: bool) -> None:
    """Today's demo: one community, four logins, the 东门 device token on the last line."""
    from ..tenancy import default_community, system_scope, use_scope
    with system_scope():
        community = default_community()
    ring = KeyRing.load(current_app.config["KEYS_DIR"])
    if not any(k.active for k in ring):
        key = KeyRing.create_key(current_app.config["KEYS_DIR"])
        click.echo(f"created signing key {key.kid}")
    with use_scope(frozenset({community.id}), write_id=community.id):
        logins = create_demo_users(community_id=community.id)
        info = build_community(n_passes, scans=scans)
        db.session.commit()
    _echo_community(info)
    click.echo("logins (user / password / role):")
    for username, password, role in logins:
        click.echo(f"  {username} / {password} / {role}")
    _echo_duty(info)
    click.echo(f"北门 device token: {info['tokens']['北门']}")
    click.echo("东门 device token (for `python -m scanner run --device-token`):")
    click.echo(info["tokens"]["东门"])


def _echo_community(info: dict) -> None:
    click.echo(f"demo community: {info['buildings']} buildings, {info['households']} households, "
               f"{info['people']} people ({info['sanitation']} sanitation workers), "
               f"{info['vehicles']} vehicles, {info['passes']} passes, {info['scans']} scans")
    if info.get("health"):
        h = info["health"]
        click.echo(f"home quarantine: {h['in_quarantine']} people in {h['cohorts']} arrival cohorts, "
                   f"{h['pending']} self-registrations waiting, 1 open fever alert (log in as health)")


def _echo_duty(info: dict, guard: str = "guard", name: str = "赵师傅") -> None:
    duty_info = info["duty"]
    click.echo(f"gate duty: {duty_info['guards']} guards and volunteers, {duty_info['events']} "
               f"logbook events today, {duty_info['places']} scattered compounds; "
               f"guard PIN for {name} (login {guard}): 1234")


def _subdistrict(n: int, n_passes: int, scans: bool) -> None:
    """N communities: per community its figures, logins and main gate's device token."""
    from ..demo_subdistrict import DISTRICT_LOGIN, build_subdistrict
    infos = build_subdistrict(n, n_passes, scans)
    db.session.commit()
    for info in infos:
        click.echo(f"== {info['code']} {info['name']}" + (
            f" (created signing key {info['kid']})" if info["kid"] else ""))
        _echo_community(info)
        click.echo("logins: " + ", ".join(f"{u} / {p}" for u, p, _r in info["logins"]))
        guard = info["logins"][-1][0]
        _echo_duty(info, guard, info["guard_name"])
        main = info["gates"][0]
        click.echo(f"{main} device token: {info['tokens'][main]}")
    username, password, _name = DISTRICT_LOGIN
    click.echo(f"sub-district login: {username} / {password} (district)")
