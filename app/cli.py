"""Operator commands: ``flask --app app <group> <command>``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .extensions import db
from .passes.tokens import KeyRing

keys_cli = AppGroup("keys", help="Pass-signing keys in KEYS_DIR (create, list, rotate, retire).")
devices_cli = AppGroup("devices", help="Gate devices (scanner laptops) and their API tokens.")
users_cli = AppGroup("users", help="Staff logins.")
rules_cli = AppGroup("rules", help="Gate rules per holder category.")


def init_app(app) -> None:
    for group in (keys_cli, devices_cli, users_cli, rules_cli):
        app.cli.add_command(group)
    app.cli.add_command(init_db)
    from . import demo
    app.cli.add_command(demo.demo_command)
    from .commands import roster, scans
    for group in (roster.roster_cli, scans.scans_cli):
        app.cli.add_command(group)
    from .commands.passes import passes_cli; app.cli.add_command(passes_cli)  # noqa: E702


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask_migrate import upgrade
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


# -- keys ----------------------------------------------------------------------

def _keys_dir() -> str:
    return current_app.config["KEYS_DIR"]


@keys_cli.command("create")
@click.option("--kid", help="key id (default k1, k2, ...)")
def keys_create(kid):
    """Create a new signing key; it signs every pass from now on."""
    try:
        key = KeyRing.create_key(_keys_dir(), kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    click.echo(f"created key {key.kid} in {_keys_dir()}")


@keys_cli.command("list")
def keys_list():
    ring = KeyRing.load(_keys_dir())
    if not len(ring):
        click.echo(f"no keys in {_keys_dir()}: run `flask --app app keys create`")
        return
    try:
        current = ring.current.kid
    except Exception:
        current = None
    for key in ring:
        state = "retired " + key.retired.isoformat() if key.retired else "active"
        mark = "*" if key.kid == current else " "
        click.echo(f"{mark} {key.kid:8} created {key.created.isoformat()}  {state}")


@keys_cli.command("rotate")
def keys_rotate():
    """Create a new key; older keys still verify until you retire them."""
    key = KeyRing.create_key(_keys_dir())
    click.echo(f"created key {key.kid}; new passes use it. Reprint cards, then "
               f"`flask --app app keys retire OLD_KID`.")


@keys_cli.command("retire")
@click.argument("kid")
def keys_retire(kid):
    """Deny every pass signed with KID, everywhere (e.g. a gate laptop was lost)."""
    try:
        KeyRing.retire_key(_keys_dir(), kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    click.echo(f"retired key {kid}: its passes are denied with KEY_RETIRED")


# -- devices -------------------------------------------------------------------

@devices_cli.command("create")
@click.option("--gate", required=True, help="gate name, e.g. 东门 (created if new)")
@click.option("--name", help="device name (default GATE-N)")
def devices_create(gate, name):
    """Create a gate device; its API token is printed once, on the last line."""
    from .services.issuing import create_device
    device, token = create_device(gate, name)
    db.session.commit()
    click.echo(f"device {device.id} '{device.name}' at gate {gate}; its token (shown once):")
    click.echo(token)


@devices_cli.command("list")
def devices_list():
    from .models import GateDevice
    for d in db.session.scalars(db.select(GateDevice).order_by(GateDevice.id)):
        click.echo(f"{d.id:4} {d.gate.name:6} {d.name:16} {'active' if d.active else 'disabled'}"
                   f"  last seen {d.last_seen_at or '-'}")


@devices_cli.command("disable")
@click.argument("device_id", type=int)
def devices_disable(device_id):
    """Refuse a device's token (a laptop was lost)."""
    from .models import GateDevice
    d = db.session.get(GateDevice, device_id)
    if d is None:
        raise click.ClickException(f"no device {device_id}")
    d.active = False
    db.session.commit()
    click.echo(f"device {device_id} disabled")


# -- users ---------------------------------------------------------------------

@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "office", "health", "guard"]), default="office")
@click.option("--name", "display_name", default="")
@click.password_option()
def users_create(username, role, display_name, password):
    from .models import User
    if db.session.scalar(db.select(User).where(User.username == username)):
        raise click.ClickException(f"user {username} exists")
    user = User(username=username, role=role, display_name=display_name or username)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {username}")


# -- rules ---------------------------------------------------------------------

@rules_cli.command("set")
@click.argument("category")
@click.option("--hours", default="", help='e.g. "03:00-07:00,16:00-20:00"; empty = any time')
@click.option("--gates", default="", help='e.g. "东门"; empty = any gate')
@click.option("--anti-passback/--no-anti-passback", default=True)
def rules_set(category, hours, gates, anti_passback):
    from .passes.categories import CATEGORIES
    from .services.rules import set_rule
    if category not in CATEGORIES:
        raise click.ClickException(f"category must be one of {', '.join(CATEGORIES)}")
    try:
        set_rule(category, hours, gates, anti_passback)
    except ValueError as err:
        raise click.ClickException(str(err))
    db.session.commit()
    click.echo(f"rule for {category}: hours={hours or 'any'} gates={gates or 'any'} "
               f"anti-passback={'on' if anti_passback else 'off'}")
