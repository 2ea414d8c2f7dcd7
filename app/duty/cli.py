"""``flask --app app duty ...``: guards, shift patterns, the week's plan, the duty sheet."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from gatepass.duty import GUARD_KINDS, PATTERNS, TEAMS, week_start
from ..extensions import db
from ..models import Gate
from . import guards as duty
from .pdf import duty_sheet_pdf
from ..common.errors import ServiceError
from ..commands.retention import cutoff, purge_options, refuse_without_yes
from ..commands.scope import community_option
from ..services.communities import community_name

duty_cli = AppGroup("duty", help="Gate duty: guards, shift patterns, week plans, duty sheets.")


def _gate(name: str) -> Gate:
    gate = db.session.scalar(db.select(Gate).where(Gate.name == name))
    if gate is None:
        names = ", ".join(g.name for g in db.session.scalars(db.select(Gate)))
        raise click.BadParameter(f"no gate {name!r} (gates: {names or 'none'})", param_hint="--gate")
    return gate


def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else date.today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--week") from None
    return week_start(day)


@duty_cli.command("guard")
@community_option
@click.argument("name")
@click.option("--kind", type=click.Choice(GUARD_KINDS), default="guard")
@click.option("--team", type=click.Choice(TEAMS))
@click.option("--phone", default="")
@click.option("--pin", help="4-8 digits to sign on at a scanner")
def guard_cmd(name, kind, team, phone, pin):
    """Add a guard or volunteer to the duty roster."""
    try:
        g = duty.add_guard(name, kind, team, phone, pin)
    except ServiceError as err:
        raise click.ClickException(str(err))
    db.session.commit()
    click.echo(f"guard {g.id}: {g.name} ({g.kind}{', team ' + g.team if g.team else ''}"
               f"{', PIN set' if pin else ''})")


@duty_cli.command("pattern")
@community_option
@click.option("--gate", "gate_name", required=True)
@click.argument("kind", type=click.Choice(PATTERNS))
@click.option("--shifts", default="", help='custom: "08:00-20:00,20:00-08:00"')
def pattern_cmd(gate_name, kind, shifts):
    """How a gate is staffed: eight 3-hour shifts, four rotating teams, or custom."""
    try:
        duty.set_pattern(_gate(gate_name), kind, shifts)
    except ServiceError as err:
        raise click.ClickException(str(err))
    db.session.commit()
    click.echo(f"{gate_name}: {kind} {shifts}".rstrip())


@duty_cli.command("plan")
@community_option
@click.option("--week", "week", help="any day of the week (YYYY-MM-DD); default this week")
def plan_cmd(week):
    """Make the week's shifts at every gate with a pattern."""
    monday = _monday(week)
    total = 0
    for gate in db.session.scalars(db.select(Gate).order_by(Gate.id)).all():
        if duty.pattern_for(gate) is not None:
            total += len(duty.plan_week(gate, monday))
    db.session.commit()
    click.echo(f"week of {monday}: {total} shifts")


@duty_cli.command("sheet")
@community_option
@click.option("--week", "week", required=True, help="any day of the week (YYYY-MM-DD)")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--gate", "gate_name", help="one gate only")
def sheet_cmd(week, out, gate_name):
    """Write the week's duty sheet (PDF, one landscape A4 page per gate)."""
    monday = _monday(week)
    for gate in db.session.scalars(db.select(Gate).order_by(Gate.id)).all():
        if duty.pattern_for(gate) is not None:
            duty.plan_week(gate, monday)  # a sheet for a week not planned yet still has its shifts
    db.session.commit()
    ids = [_gate(gate_name).id] if gate_name else None
    data = duty_sheet_pdf(community_name(), monday, duty.week(monday, ids))
    Path(out).write_bytes(data)
    click.echo(f"duty sheet for the week of {monday} written to {out} ({len(data) / 1e3:.0f} kB)")


@duty_cli.command("purge")
@purge_options("delete logbook entries, spot checks and handovers older than DAYS days",
               "really delete (without it: nothing is deleted, exit 1)")
def purge_cmd(days, yes):
    """Delete gate-duty records older than DAYS days (what a cron job runs, like scans purge)."""
    counts = duty.purge(cutoff(days))
    text = ", ".join(f"{n} {k}" for k, n in counts.items())
    if not yes:
        db.session.rollback()
        refuse_without_yes(f"would delete {text}", any(counts.values()))
        return
    db.session.commit()
    click.echo(f"deleted {text}")
