"""``flask --app app keys``: the pass-signing keys in KEYS_DIR."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from gatepass.tokens import KeyRing

from ..services import keys as key_service


keys_cli = AppGroup("keys", help="Pass-signing keys in KEYS_DIR (create, list, rotate, retire).")

def _keys_dir() -> str:
    return current_app.config["KEYS_DIR"]


@keys_cli.command("create")
@click.option("--kid", help="key id (default k1, k2, ...)")
def keys_create(kid):
    """Create a new signing key; it signs every pass from now on."""
    try:
        key = key_service.create_key(kid)
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
    key = key_service.create_key(rotate=True)
    click.echo(f"created key {key.kid}; new passes use it. Reprint cards "
               f"(`flask --app app passes list --reprint`, `passes print --reprint -o r.pdf`), "
               f"then `flask --app app keys retire OLD_KID` (the key drill: docs/deploy.md §7).")


@keys_cli.command("retire")
@click.argument("kid")
def keys_retire(kid):
    """Deny every pass signed with KID, everywhere (e.g. a gate laptop was lost)."""
    try:
        key_service.retire_key(kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    click.echo(f"retired key {kid}: its passes are denied with KEY_RETIRED")
