"""``flask --app app backup OUT [--community CODE]`` and ``flask --app app restore IN``.

Without ``--community`` a backup is the whole database in its own format (SQLite online
backup, pg_dump); with it, one community's rows in a portable file (see
``services.community_backup``). ``restore`` tells the two apart by their content.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..services import backup as service
from ..services import community_backup as one
from ..services.community_restore import restore_community


def _summary(counts: dict[str, int]) -> str:
    return f"{len(counts)} tables, {sum(counts.values())} rows"


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--community", "code", metavar="CODE",
              help="only this community's rows (a file any database restores), e.g. c2")
@with_appcontext
def backup_command(out, code):
    """Write the database (or one community of it) to OUT, mode 0600.

    Keys (KEYS_DIR, a community's own ring in KEYS_DIR/CODE) and instance/secret_key are
    separate files: back them up as well."""
    try:
        counts = one.backup_community(code, out) if code else service.backup(out)
    except (service.BackupError, one.CommunityBackupError) as err:
        raise click.ClickException(str(err))
    what = f"community {code}" if code else "the database"
    click.echo(f"backed up {what}: {_summary(counts)} to {out}")


@click.command("restore")
@click.argument("src", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="replace a database (or a community) that has data")
@with_appcontext
def restore_command(src, force):
    """Put backup IN into the configured database.

    A whole backup needs an empty database (or --force); a community backup needs that
    community absent or empty (or --force) and its ids free (a fresh database: yes)."""
    try:
        if one.is_community_backup(src):
            result = restore_community(src, force)
        else:
            counts = service.restore(src, force)
    except (service.BackupError, one.CommunityBackupError) as err:
        raise click.ClickException(str(err))
    if not one.is_community_backup(src):
        click.echo(f"restored {_summary(counts)} from {src}")
        return
    if result.replaced_empty:
        click.echo(f"the empty community {result.replaced_empty} of this fresh database made way")
    for table, n in result.renumbered.items():
        click.echo(f"{n} row(s) of {table}: their ids were taken here, given new ones")
    for column, n in result.detached.items():
        click.echo(f"{n} row(s): {column} named a row of another community, left empty")
    click.echo(f"restored community {result.code}: {_summary(result.counts)} from {src}")
