"""Write the audit trail (``AuditEntry``): office actions and views of health data.

Services call ``record_action`` where an office action is committed (views and commands
never write entries themselves), views call ``record_view`` where a page shows someone's
health data or ID number; both add to the session, so the entry commits (or rolls back)
with the work it describes.

Who acted is passed in, not read from a request here: the web layer says, for each request,
how to find the logged-in user (``acting_as``, set in ``app.auth``); outside a request (CLI)
the actor is the operator's shell, ``cli``. So this module, and every service that audits,
runs the same from a view, a command or a test.
"""
from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Callable

from ..extensions import db
from ..models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who an audit entry names: a staff user, the CLI, or an anonymous web visitor."""

    user_id: int | None
    username: str
    address: str = ""


CLI = Actor(None, "cli")
_actor: ContextVar[Callable[[], Actor]] = ContextVar("audit_actor", default=lambda: CLI)


def acting_as(who: Callable[[], Actor]) -> Token:
    """Name the actor of what follows (until ``done_acting``). A callable, asked when an entry is
    written, so a request that logs someone in is audited as that user from then on."""
    return _actor.set(who)


def done_acting(token: Token) -> None:
    _actor.reset(token)


def _record(kind: str, action: str, target: str, person_id: int | None, detail: str) -> AuditEntry:
    who = _actor.get()()
    entry = AuditEntry(kind=kind, action=action[:40], user_id=who.user_id,
                       username=who.username[:40], target=(target or "")[:60],
                       person_id=person_id, detail=(detail or "")[:300],
                       address=who.address[:45])
    db.session.add(entry)
    return entry


def record_action(action: str, target: str = "", *, person_id: int | None = None,
                  detail: str = "") -> AuditEntry:
    """An office action: ``pass.revoke``, ``roster.import``, ``keys.retire``..."""
    return _record("action", action, target, person_id, detail)


def record_view(what: str, *, person_id: int | None = None, target: str = "",
                detail: str = "") -> AuditEntry:
    """A view of health data or an ID number: ``health.quarantine_list``, ``health.person``..."""
    return _record("view", what, target, person_id, detail)
