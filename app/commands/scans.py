"""``flask --app app scans ...``: take the scan log away, and let it go.

The scan log says who went where and when: personal data an office may keep
only as long as the lockdown needs it. ``purge`` is what a cron job runs.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db
from ..config import community_tz
from ..models import Gate, Scan
from ..services import exports
from ..common.files import open_private, write_private
from .retention import cutoff, purge_options, refuse_without_yes
from .scope import community_option

scans_cli = AppGroup("scans", help="The scan log: export (CSV/XLSX) and purge old scans.")
PURGE_BATCH = 5000


def _when(value: str | None, option: str, whole_day_end: bool = False) -> str:
    """A strict local date or date-time; a bare --until date includes that day."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD or YYYY-MM-DDTHH:MM", param_hint=option)
    if whole_day_end and len(value) == 10:
        dt += timedelta(days=1)
    return dt.isoformat()


def _gate_id(value: str | None) -> str:
    if not value:
        return ""
    gate = db.session.scalar(db.select(Gate).where(Gate.name == value))
    if gate is None and value.isdigit():
        gate = db.session.get(Gate, int(value))
    if gate is None:
        names = ", ".join(db.session.scalars(db.select(Gate.name).order_by(Gate.id)))
        raise click.BadParameter(f"no gate {value!r} (gates: {names})", param_hint="--gate")
    return str(gate.id)


@scans_cli.command("export")
@community_option
@click.option("--since", help="local date or date-time, e.g. 2022-04-01 or 2022-04-01T08:00")
@click.option("--until", help="local date (inclusive) or date-time (exclusive)")
@click.option("--gate", help="gate name (e.g. 东门) or id")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="language of headers and values")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="OUT.csv (UTF-8 with BOM, opens in Excel) or OUT.xlsx")
def export_command(since, until, gate, lang, out):
    """Write the scan log, newest first, with full names, to a CSV or XLSX file."""
    from gatepass.disclosure import FULL
    from ..services.scanlog import record_health_view, scan_query
    ext = Path(out).suffix.lower()
    if ext not in (".csv", ".xlsx"):
        raise click.BadParameter("must end in .csv or .xlsx", param_hint="--output")
    args = {"since": _when(since, "--since"), "until": _when(until, "--until", True),
            "gate": _gate_id(gate)}
    stmt, _filters = scan_query(args)
    count = db.session.scalar(db.select(db.func.count()).select_from(
        stmt.order_by(None).subquery()))
    if ext == ".xlsx":
        write_private(out, exports.scans_xlsx(stmt, community_tz(), lang))
    else:
        with open_private(out, "w", encoding="utf-8", newline="") as fh:
            for chunk in exports.scans_csv(stmt, community_tz(), lang):
                fh.write(chunk)
    # temperatures and health reasons went into the file: a view of health data, logged
    record_health_view("health.scans_export", FULL, detail=f"cli {ext[1:]} {count} rows")
    db.session.commit()
    click.echo(f"wrote {count} scan(s) to {out}")


@scans_cli.command("purge")
@purge_options("delete scans older than DAYS days", "really delete (without it: only say how many)")
def purge_command(days, yes):
    """Delete scans older than DAYS days. Without --yes: count, refuse, exit 1."""
    before = cutoff(days)
    old = db.select(Scan.id).where(Scan.scanned_at < before)
    count = db.session.scalar(db.select(db.func.count()).select_from(old.subquery()))
    when = before.astimezone(community_tz()).strftime("%Y-%m-%d %H:%M")
    if not yes:
        refuse_without_yes(f"{count} scan(s) from before {when} would be deleted", bool(count))
        return
    deleted = 0
    while True:  # in batches, so gates can still record scans meanwhile
        ids = db.session.scalars(old.limit(PURGE_BATCH)).all()
        if not ids:
            break
        db.session.execute(db.delete(Scan).where(Scan.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
    click.echo(f"deleted {deleted} scan(s) from before {when}")
