"""``flask --app app keys``: one community's pass-signing keys.

The first community's ring is KEYS_DIR itself, every other community's (and a sub-district's)
``KEYS_DIR/<code>/`` (``app.services.keys``). ``--community CODE`` says whose ring; it may be
left out while there is one community.
"""
from __future__ import annotations

import functools

import click
from flask.cli import AppGroup
from sqlalchemy import inspect

from gatepass.tokens import KeyRing

from ..services import keys as key_service
from ..extensions import db
from .scope import community_option


def _community_ring(command):
    """``community_option``, except before ``init-db`` (no communities table yet): then the
    default ring, KEYS_DIR, as before communities (``keys create`` may come first)."""
    scoped = community_option(command)

    @functools.wraps(scoped)
    def wrapper(*args, community_code=None, **kwargs):
        if community_code is None and not inspect(db.engine).has_table("communities"):
            return command(*args, **kwargs)
        return scoped(*args, community_code=community_code, **kwargs)
    return wrapper


keys_cli = AppGroup("keys", help="Pass-signing keys of one community (create, list, rotate, "
                                 "retire); --community CODE when there are several.")


@keys_cli.command("create")
@click.option("--kid", help="key id (default k1, k2, ...; unique across every community)")
@_community_ring
def keys_create(kid):
    """Create a new signing key; it signs every pass of the community from now on."""
    try:
        key = key_service.create_key(kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    click.echo(f"created key {key.kid} in {key_service.ring_dir()}")


@keys_cli.command("list")
@_community_ring
def keys_list():
    directory = key_service.ring_dir()
    ring = KeyRing.load(directory)
    if not len(ring):
        click.echo(f"no keys in {directory}: run `flask --app app keys create`")
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
@_community_ring
def keys_rotate():
    """Create a new key; older keys still verify until you retire them."""
    key = key_service.create_key(rotate=True)
    click.echo(f"created key {key.kid}; new passes use it. Reprint cards "
               f"(`flask --app app passes list --reprint`, `passes print --reprint -o r.pdf`), "
               f"then `flask --app app keys retire OLD_KID` (the key drill: docs/deploy.md §7).")


@keys_cli.command("retire")
@click.argument("kid")
@_community_ring
def keys_retire(kid):
    """Deny every pass signed with KID, everywhere (e.g. a gate laptop was lost)."""
    try:
        key_service.retire_key(kid)
    except ValueError as err:
        raise click.ClickException(str(err))
    click.echo(f"retired key {kid}: its passes are denied with KEY_RETIRED")
