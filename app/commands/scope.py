"""``--community CODE`` for every command that acts on one community.

While the database holds one community the option may be left out (``make demo``, an
existing deployment: nothing changes); with several, a command that writes or reads one
community's rows must be told which, and says so instead of guessing. The command then runs
inside that community's scope (``app.tenancy.use_scope``): it sees and writes that
community's rows only.
"""
from __future__ import annotations

import functools

import click

from ..extensions import db
from ..models.communities import Community, CommunityKind


def resolve_community(code: str | None) -> Community:
    """The community ``code`` names; without a code, the only community there is."""
    if code:
        found = db.session.scalar(db.select(Community).where(Community.code == code))
        if found is None:
            raise click.BadParameter(f"no community {code!r} (flask --app app communities list)",
                                     param_hint="--community")
        return found
    rows = db.session.scalars(db.select(Community).where(
        Community.kind == CommunityKind.COMMUNITY.value).order_by(Community.code)).all()
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise click.UsageError("no community yet: run flask --app app init-db")
    codes = ", ".join(r.code for r in rows[:10]) + (", …" if len(rows) > 10 else "")
    raise click.UsageError(f"there are {len(rows)} communities: say which with "
                           f"--community CODE (one of {codes})")


def community_option(command):
    """Decorator (under ``@group.command()``): adds ``--community CODE`` and runs the command
    in that community's scope. The command does not receive the option; it can ask
    ``app.tenancy.current_community()``."""
    from ..tenancy import use_scope

    @click.option("--community", "community_code", metavar="CODE",
                  help="the community to act on (required when there are several)")
    @functools.wraps(command)
    def wrapper(*args, community_code=None, **kwargs):
        community = resolve_community(community_code)
        with use_scope({community.id}, write_id=community.id):
            return command(*args, **kwargs)
    return wrapper
