"""``flask --app app health ...``: the gate poster, a health certificate, the retention purge."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db
from ..models import Gate
from . import certificates, episodes as health, registrations
from ..commands import warn_guessed_base
from ..common.errors import ServiceError
from ..common.files import write_private
from .pdf import poster
from .purge import purge
from ..commands.scope import community_option
from ..services.communities import community_name

health_cli = AppGroup("health", help="Home quarantine: gate posters, health certificates, purge.")


@health_cli.command("poster")
@community_option
@click.option("--gate", required=True, help="the gate's name, e.g. 东门")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="OUT.pdf")
def poster_command(gate, out):
    """Write the A4 self-registration poster of GATE: its QR opens the registration form."""
    g = db.session.scalar(db.select(Gate).where(Gate.name == gate.strip()))
    if g is None:  # like `devices create`: a gate is its name; a poster may come first
        g = Gate(name=gate.strip())
        db.session.add(g)
        db.session.commit()
        click.echo(f"created gate {g.name}")
    url = registrations.poster_url(g)
    warn_guessed_base(registrations.public_base(), "the poster's QR")
    Path(out).write_bytes(poster(community_name(), g.name, url))
    click.echo(f"wrote the {g.name} poster to {out}")
    click.echo(url)


@health_cli.command("certificate")
@community_option
@click.argument("episode_id", type=int)
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="OUT.pdf")
def certificate_command(episode_id, out):
    """Write the health certificate of an ended episode (issued now if it has none)."""
    try:
        cert = certificates.issue(health.get_episode(episode_id), None)
        data = certificates.pdf(cert)
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(str(err))
    db.session.commit()
    write_private(out, data)  # health data
    warn_guessed_base(registrations.public_base(), "the certificate's QR")
    click.echo(f"wrote certificate {cert.number} to {out}")
    click.echo(certificates.verify_url(cert))


@health_cli.command("purge")
@click.option("--older-than", "days", type=click.IntRange(min=1), default=30, show_default=True,
              help="episodes ended more than DAYS days ago")
@click.option("--dry-run", is_flag=True, help="only count, per kind; delete nothing")
def purge_command(days, dry_run):
    """Delete the health data of episodes that ended more than DAYS days ago."""
    counts = purge(days, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would delete" if dry_run else "deleted"
    for kind, n in counts.items():
        click.echo(f"{kind}: {n}")
    click.echo(f"{verb} {sum(n for _k, n in counts.items())} record(s) of episodes ended more "
               f"than {days} days ago" + (" (dry run: nothing deleted)" if dry_run else ""))
