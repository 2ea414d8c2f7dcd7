"""Operator commands (``flask --app app <group> <command>``), one module per group.

Commands parse options, call a service and print; the work is in ``app.services``. The health
and duty groups live in their folders (``app.health.cli``, ``app.duty.cli``) and join here.
"""
from __future__ import annotations

import click


def warn_guessed_base(base: str, what: str = "the QR code") -> None:
    """One warning for every command that prints a URL into a QR or a file while
    PUBLIC_BASE_URL is unset (``config.base_url_guessed``): on stderr, never silent."""
    from ..config import base_url_guessed
    if base_url_guessed():
        click.echo(f"warning: no PUBLIC_BASE_URL set, {what} points to {base}; set "
                   "PUBLIC_BASE_URL=https://... so it opens on residents' phones and gates",
                   err=True)


def init_app(app) -> None:
    from . import backup, database, demo, devices, keys, passes, roster, rules, scans, users
    from . import subdistrict_passes  # noqa: F401  (adds `passes issue-subdistrict`)
    from ..duty import cli as duty
    from ..health import cli as health

    app.cli.add_command(database.init_db)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(backup.backup_command)
    app.cli.add_command(backup.restore_command)
    for group in (keys.keys_cli, devices.devices_cli, users.users_cli, rules.rules_cli,
                  roster.roster_cli, scans.scans_cli, passes.passes_cli, duty.duty_cli,
                  health.health_cli):
        app.cli.add_command(group)
    from .communities import communities_cli  # a sub-district's communities
    app.cli.add_command(communities_cli)
