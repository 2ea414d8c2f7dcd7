"""Sub-district-wide passes: one card accepted at every gate of a sub-district.

Cadres sent to staff checkpoints and sanitation crews serving several communities carry one
pass, not one per community. Such a pass and its holder belong to the sub-district's own
pseudo-community (kind ``subdistrict``, code ``sd-<n>``), which has its own key ring. Every
gate of the sub-district reads that pseudo-community (``app.tenancy.scope_for_device``), so
the service finds the pass at any of them and logs the scan in the gate's community.

The sub-district's key stays on the server (README, threat model): gates get its key ids
only, never its secret, so a stolen laptop of any one community cannot mint these passes;
offline, a gate answers ``ONLINE_ONLY`` for them. They are not held to anti-passback
either: their holders walk from one community into the next (``is_subdistrict_pass``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func

from gatepass.categories import HOUSEHOLD_CATEGORIES, PERSON_CATEGORIES

from ..common.errors import ServiceError
from ..extensions import db
from ..models import Pass, Person
from ..models.communities import Community, CommunityKind
from . import keys as key_service

#: Who carries a sub-district pass: not residents (they live in one community).
CATEGORIES = tuple(c for c in PERSON_CATEGORIES if c not in HOUSEHOLD_CATEGORIES)
DEFAULT_DAYS, MAX_DAYS = 30, 366


class SubdistrictPassError(ServiceError):
    """A sub-district pass that cannot be issued as asked."""


def subdistrict_community(subdistrict: str, create: bool = False) -> Community | None:
    """The pseudo-community of ``subdistrict`` (made on first use when ``create``)."""
    name = (subdistrict or "").strip()
    if not name:
        raise SubdistrictPassError("NO_SUBDISTRICT", "请指定街道名称", "name the sub-district")
    found = db.session.scalar(db.select(Community).where(
        Community.kind == CommunityKind.SUBDISTRICT.value, Community.subdistrict == name))
    if found is not None or not create:
        return found
    if not db.session.scalar(db.select(func.count(Community.id)).where(
            Community.kind == CommunityKind.COMMUNITY.value, Community.subdistrict == name)):
        raise SubdistrictPassError("NO_SUBDISTRICT", f"没有属于街道 {name} 的社区",
                                   f"no community belongs to the sub-district {name}")
    from .communities import subdistrict_row  # the one maker of sd-<n> rows
    found = subdistrict_row(name)
    key_service.forget_owners()
    return found


def issue_subdistrict_pass(subdistrict: str, name: str, *, phone: str | None = None,
                           category: str = "staff", employer: str = "",
                           days: int = DEFAULT_DAYS, now: datetime | None = None) -> Pass:
    """A pass for ``name`` held by the sub-district, valid ``days`` days from ``now``.

    Runs in the sub-district's scope: the holder and the pass are the pseudo-community's
    rows, never one community's."""
    from ..tenancy import use_scope
    from .issuing import issue_pass
    if category not in CATEGORIES:
        raise SubdistrictPassError("BAD_CATEGORY", f"街道通行证不能是 {category} 类",
                                   f"a sub-district pass cannot be of category {category}")
    if not 1 <= days <= MAX_DAYS:
        raise SubdistrictPassError("BAD_DAYS", f"有效期须为 1-{MAX_DAYS} 天",
                                   f"validity must be 1-{MAX_DAYS} days")
    if not (name or "").strip():
        raise SubdistrictPassError("NO_NAME", "请填写姓名", "a name is needed")
    district = subdistrict_community(subdistrict, create=True)
    key_service.signing_ring(district.id)  # its first key, on the server only
    start = now or datetime.now(timezone.utc)
    with use_scope({district.id}, write_id=district.id):
        person = Person(name=name.strip(), phone=(phone or None), category=category,
                        employer=employer)
        db.session.add(person)
        db.session.flush()
        p = issue_pass(person, valid_from=start, valid_until=start + timedelta(days=days))
        db.session.flush()
    return p


def is_subdistrict_pass(community_id: int | None) -> bool:
    """Whether a pass of ``community_id`` is a sub-district-wide one (not a community's)."""
    owner = key_service.owner_of(community_id)
    return owner is not None and owner.kind == CommunityKind.SUBDISTRICT.value
