"""Issue, suspend, revoke, reinstate and reissue passes; resident links."""
from __future__ import annotations

from datetime import datetime, timezone


from ..extensions import db
from ..models import Pass, Person, Vehicle
from gatepass import tokens
from gatepass.status import PassAction, PassStatus
from . import signed_links
from ..common.audit import record_action
from ..common.errors import ServiceError
from .keys import signing_ring

LINK_SALT = "gatepass.resident-link.v1"


class IssuingError(ServiceError):
    """A request the office made that cannot be done (shown as a message)."""


def _new_pass(holder: Person | Vehicle, valid_from: datetime | None = None,
              valid_until: datetime | None = None) -> Pass:
    if isinstance(holder, Person):
        return Pass(person=holder, category=holder.category,
                    valid_from=valid_from, valid_until=valid_until)
    return Pass(vehicle=holder, category="vehicle", valid_from=valid_from, valid_until=valid_until)


def issue_pass(holder: Person | Vehicle, valid_from: datetime | None = None,
               valid_until: datetime | None = None) -> Pass:
    """A holder has at most one live pass; issuing again returns it."""
    is_person = isinstance(holder, Person)
    existing = db.session.scalar(db.select(Pass).where(
        (Pass.person_id == holder.id) if is_person else (Pass.vehicle_id == holder.id),
        Pass.status != PassStatus.REVOKED))
    if existing:
        return existing
    p = _new_pass(holder, valid_from, valid_until)
    db.session.add(p)
    db.session.flush()
    _audit("pass.issue", p)
    return p


def _audit(action: str, p: Pass, detail: str = "") -> None:
    record_action(action, f"pass:{p.id}", person_id=p.person_id, detail=detail or p.code)


def issue_passes_to_new_holders(holders: list[Person | Vehicle]) -> list[Pass]:
    """Bulk issue for holders created in this transaction, who cannot have a pass yet.

    Skips issue_pass's per-holder lookup, which dominated a 7,000-row roster import.
    """
    passes = [_new_pass(h) for h in holders]
    db.session.add_all(passes)
    return passes


def set_status(p: Pass, status: str) -> Pass:
    if status not in tuple(PassStatus):
        raise IssuingError("BAD_STATUS", f"未知状态 {status}", f"unknown status {status}")
    if p.status == PassStatus.REVOKED and status != PassStatus.REVOKED:
        raise IssuingError("REVOKED", "已作废的通行证不能恢复，请重新签发", "a revoked pass stays revoked: issue a new one")
    if p.status != status:
        _audit({PassStatus.ACTIVE: "pass.reinstate", PassStatus.SUSPENDED: "pass.suspend",
                PassStatus.REVOKED: "pass.revoke"}[PassStatus(status)], p)
    p.status = PassStatus(status).value
    p.updated_at = datetime.now(timezone.utc)
    return p


def reissue(p: Pass) -> Pass:
    """New card for a lost one: the serial goes up, so the old QR is SUPERSEDED."""
    if p.status == PassStatus.REVOKED:
        raise IssuingError("REVOKED", "已作废的通行证不能补办", "a revoked pass cannot be reissued")
    p.serial += 1
    p.updated_at = datetime.now(timezone.utc)
    _audit("pass.reissue", p, detail=p.code)
    return p


def perform(p: Pass, action: PassAction) -> Pass:
    """Do one office action to a pass (from its page or a bulk selection)."""
    if action.leaves is not None:
        return set_status(p, action.leaves)
    if action is PassAction.REISSUE:
        return reissue(p)
    if action is PassAction.REVOKE_LINK:
        return revoke_link(p)
    raise IssuingError("BAD_ACTION", f"无法执行操作 {action}", f"cannot do {action} here")


def static_token(p: Pass) -> str:
    """The card's token, signed with the ring of the pass's own community."""
    return tokens.issue_static(signing_ring(p.community_id), p.id, p.serial)


def dynamic_token(p: Pass, now: datetime | None = None) -> str:
    return tokens.issue_dynamic(signing_ring(p.community_id), p.id, p.serial, now)


# -- resident links: a personal URL the office sends or prints -------------

def resident_link_token(p: Pass) -> str:
    return signed_links.token(LINK_SALT, p)


def pass_for_link(link: str) -> Pass | None:
    """The pass behind a resident link, or None if forged or revoked."""
    return signed_links.row_for(LINK_SALT, link, Pass)


def revoke_link(p: Pass) -> Pass:
    p.link_version += 1
    _audit("pass.revoke_link", p)
    return p
