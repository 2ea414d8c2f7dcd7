"""Family (household) phone links: one phone for a household.

An elderly parent without a smartphone or small children show their pass on a relative's
phone. The office sends one link per household; it shows each member's own pass, one at a
time, each still signed for its own person (its own rotating code, its own status). The
link is signed with the household's ``link_version``: resetting it (a lost phone) ends the
old link, as for a personal link; revoking a member's pass shows on that member's page.
"""
from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..models import Household, Pass, Person
from . import signed_links
from ..common.audit import record_action

LINK_SALT = "gatepass.household-link.v1"


def link_token(h: Household) -> str:
    return signed_links.token(LINK_SALT, h)


def link_for(h: Household, base: str) -> str:
    """The household's family link under ``base`` (the service's public address)."""
    return base.rstrip("/") + url_for("resident.household_page", token=link_token(h))


def household_for(token: str) -> Household | None:
    """The household behind a family link, or None if forged or reset."""
    return signed_links.row_for(LINK_SALT, token, Household)


def members(h: Household) -> list[Pass]:
    """Each member's current pass (their latest), in the order they were registered."""
    latest: dict[int, Pass] = {}
    rows = db.session.scalars(db.select(Pass).join(Person, Pass.person_id == Person.id)
                              .where(Person.household_id == h.id).order_by(Pass.id))
    for p in rows:
        latest[p.person_id] = p
    return sorted(latest.values(), key=lambda p: p.person_id)


def reset_link(h: Household) -> Household:
    """A lost phone: the old family link stops working; send the new one."""
    h.link_version += 1
    record_action("household.reset_link", f"household:{h.id}", detail=h.address)
    return h
