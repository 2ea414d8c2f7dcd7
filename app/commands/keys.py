"""``flask --app app keys``: the pass-signing keys in KEYS_DIR."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from gatepass.tokens import KeyRing

from ..extensions import db
from ..common.audit import record_action


def _audit(action: str, kid: str) -> None:
    """Key changes go into the audit trail (the database may not exist yet: then skip)."""
    try:
        record_action(action, f"key:{kid}")
        db.session.commit()
    except Exception:  # e.g. `keys create` before `init-db`
        db.session.rollback()


keys_cli = AppGroup("keys", help="Pass-signing keys in KEYS_DIR (create, list, rotate, retire).")

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
    _audit("keys.create", key.kid)
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
    _audit("keys.rotate", key.kid)
    click.echo(f"created key {key.kid}; new passes use it. Reprint cards "
               f"(`flask --app app passes list --reprint`, `passes print --reprint -o r.pdf`), "
               f"then `flask --app app keys retire OLD_KID`.")


@keys_cli.command("retire")
@click.argument("kid")
def keys_retire(kid):
    """Deny every pass signed with KID, everywhere (e.g. a gate laptop was lost)."""
    try:
        KeyRing.retire_key(_keys_dir(), kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    _audit("keys.retire", kid)
    click.echo(f"retired key {kid}: its passes are denied with KEY_RETIRED")
