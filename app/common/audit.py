"""Write the audit trail (``AuditEntry``): office actions and views of health data.

Call ``record_action`` where an office action is committed and ``record_view``
where a page shows someone's health data or ID number; both add to the
session, so the entry commits (or rolls back) with the work it describes.
Outside a request (CLI) the user is the operator's shell: ``cli``.
"""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEntry


def _who() -> tuple[int | None, str, str]:
    if not has_request_context():
        return None, "cli", ""
    address = (request.remote_addr or "")[:45]
    if getattr(current_user, "is_authenticated", False):
        return current_user.id, current_user.username, address
    return None, "", address


def _record(kind: str, action: str, target: str, person_id: int | None, detail: str) -> AuditEntry:
    user_id, username, address = _who()
    entry = AuditEntry(kind=kind, action=action[:40], user_id=user_id, username=username[:40],
                       target=(target or "")[:60], person_id=person_id,
                       detail=(detail or "")[:300], address=address)
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


def record_import(result, filename: str) -> None:
    """A roster import that wrote rows (not a dry run, no errors), committed on its own:
    the import itself has committed already."""
    if result.dry_run or result.errors or result.summary is None:
        return
    s = result.summary
    record_action("roster.import", (filename or "")[:60],
                  detail=f"rows={result.rows} people+{s.people_created}~{s.people_updated} "
                         f"vehicles+{s.vehicles_created}~{s.vehicles_updated} "
                         f"passes+{s.passes_issued}")
    db.session.commit()
