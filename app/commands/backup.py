"""``flask --app app backup OUT`` and ``flask --app app restore IN``: the whole database."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..services import backup as service


def _summary(counts: dict[str, int]) -> str:
    return f"{len(counts)} tables, {sum(counts.values())} rows"


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(out):
    """Write the database to OUT (SQLite online backup, or pg_dump custom format), mode 0600.

    Keys (KEYS_DIR) and instance/secret_key are separate files: back them up as well."""
    try:
        counts = service.backup(out)
    except service.BackupError as err:
        raise click.ClickException(str(err))
    click.echo(f"backed up {_summary(counts)} to {out}")


@click.command("restore")
@click.argument("src", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="replace a database that has data")
@with_appcontext
def restore_command(src, force):
    """Put backup IN into the configured database (which must be empty unless --force)."""
    try:
        counts = service.restore(src, force)
    except service.BackupError as err:
        raise click.ClickException(str(err))
    click.echo(f"restored {_summary(counts)} from {src}")
