"""``flask --app app roster ...``: the office's Excel roster in and out.

The exit code is the contract for scripts: non-zero whenever a row is bad, in
a dry run as in a real import (which then writes nothing).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..services import roster
from ..common.files import write_private
from .scope import community_option

roster_cli = AppGroup("roster", help="Import and export the roster (households, people, "
                                     "vehicles) as CSV or XLSX.")


def _format(path: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in (".csv", ".xlsx"):
        raise click.ClickException("OUT must end in .csv or .xlsx")
    return ext[1:]


def _names(names: list[str], most: int = 8) -> str:
    return "(" + " ".join(names[:most]) + (" ..." if len(names) > most else "") + ")" \
        if names else ""


def echo_result(result: roster.ImportResult) -> None:
    if result.ignored_columns:
        click.echo("ignored columns (未识别的列): " + ", ".join(result.ignored_columns))
    for e in result.errors:
        click.echo(str(e), err=True)
    if result.errors:
        lines = len({e.line for e in result.errors})
        click.echo(f"{len(result.errors)} problem(s) on {lines} of {result.rows} row(s); "
                   "nothing was written (未写入任何数据)", err=True)
        return
    s = result.summary
    verb = "would" if result.dry_run else "did"
    click.echo(f"{result.rows} row(s) OK; {verb}: "
               f"buildings +{len(s.buildings_created)} {_names(s.buildings_created)}, "
               f"households +{s.households_created}, "
               f"people +{s.people_created} ~{s.people_updated} ={s.people_unchanged}, "
               f"vehicles +{s.vehicles_created} ~{s.vehicles_updated} ={s.vehicles_unchanged}, "
               f"passes issued {s.passes_issued}, re-categorised {s.passes_recategorised}")
    if result.dry_run:
        click.echo("dry run: nothing was written (预检，未写入)")


@roster_cli.command("import")
@community_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row and report; write nothing")
@click.option("--create-buildings", is_flag=True,
              help="allow buildings the database does not have yet (always allowed when "
                   "there are no buildings at all)")
@click.option("--issue-passes/--no-issue-passes", default=True, show_default=True,
              help="issue a pass to every person and vehicle the import creates")
def import_command(file, dry_run, create_buildings, issue_passes):
    """Import FILE (.csv in UTF-8/GBK, or .xlsx): all rows or none."""
    data = Path(file).read_bytes()
    try:
        result = roster.import_roster(data, file, dry_run=dry_run,
                                      create_buildings=create_buildings,
                                      issue_passes=issue_passes)
    except roster.RosterFileError as err:
        raise click.ClickException(f"{err.message} ({err.code}: {err.message_en})") from None
    echo_result(result)
    if result.errors:
        raise SystemExit(1)


@roster_cli.command("export")
@community_option
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export_command(out):
    """Write every person and vehicle to OUT (.csv or .xlsx); it imports back."""
    fmt = _format(out)
    data = roster.export_bytes(fmt)
    write_private(out, data)  # everyone's names, phones and ID numbers
    click.echo(f"wrote {out} ({len(data)} bytes)")


@roster_cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template_command(out):
    """Write an empty roster with the expected columns to OUT (.csv or .xlsx)."""
    fmt = _format(out)
    Path(out).write_bytes(roster.template_bytes(fmt))
    click.echo(f"wrote {out}")
