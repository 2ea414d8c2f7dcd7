"""What every ``... purge`` command that a cron job runs has in common.

``--older-than DAYS`` says what goes; without ``--yes`` nothing is deleted, the
command says how much would be, and exits 1 if that is anything (so a cron
job set up without ``--yes`` shows up in its mail instead of silently keeping
personal data).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click


def purge_options(older_than_help: str, yes_help: str):
    """The ``--older-than DAYS`` (required, at least 1) and ``--yes`` options."""
    def decorate(command):
        command = click.option("--yes", is_flag=True, help=yes_help)(command)
        return click.option("--older-than", "days", type=click.IntRange(min=1), required=True,
                            help=older_than_help)(command)
    return decorate


def cutoff(days: int) -> datetime:
    """What is older than this goes: ``days`` before now."""
    return datetime.now(timezone.utc) - timedelta(days=days)


def refuse_without_yes(would: str, anything: bool) -> None:
    """Say what would go and that nothing did; exit 1 when something would have."""
    click.echo(f"{would}; nothing deleted: run again with --yes")
    if anything:
        raise SystemExit(1)
