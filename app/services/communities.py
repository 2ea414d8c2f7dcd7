"""Communities of a sub-district: create one, list them, remove one that moved away.

A community's code names it everywhere outside the database: ``--community c2`` on the
command line, ``/register/c2/`` on a poster, ``KEYS_DIR/c2/`` on disk. So it is short,
lower-case ASCII, and never changes. A sub-district's own row (kind "subdistrict",
code ``sd-<n>``) holds its sub-district-wide people, passes and notices; creating the
first community of a sub-district creates it too (docs in tenancy-design: one per name).
"""
from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from ..common.audit import record_action
from ..common.errors import ServiceError
from ..extensions import db
from ..models.communities import Community, CommunityKind

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
SUBDISTRICT_PREFIX = "sd-"


class CommunityError(ServiceError):
    """A community that cannot be created or removed, said plainly."""


def community_name(community_id: int | None = None) -> str:
    """The name printed on cards, posters, duty sheets and certificates: community
    ``community_id``'s, else that of the community new rows go to in the current scope
    (``--community``, the logged-in staff's), else the configured COMMUNITY_NAME."""
    from flask import current_app
    from ..tenancy import current_community
    community = db.session.get(Community, community_id) if community_id is not None \
        else current_community()
    return community.name if community is not None else current_app.config["COMMUNITY_NAME"]


def communities(kind: str = CommunityKind.COMMUNITY.value) -> list[Community]:
    """Every community of ``kind``, in code order (what ``communities list`` prints)."""
    return list(db.session.scalars(select(Community).where(Community.kind == kind)
                                   .order_by(Community.code)))


def by_code(code: str) -> Community:
    community = db.session.scalar(select(Community).where(Community.code == code))
    if community is None:
        known = ", ".join(c.code for c in communities()) or "none"
        raise CommunityError("NO_COMMUNITY", f"没有社区 {code}（现有：{known}）",
                             f"no community {code} (communities: {known})")
    return community


def create_community(code: str, name: str, subdistrict: str = "") -> Community:
    """A new community (kind "community"); its sub-district's own row if it is the first."""
    code, name, subdistrict = code.strip(), name.strip(), subdistrict.strip()
    if not CODE.match(code) or code.startswith(SUBDISTRICT_PREFIX):
        raise CommunityError(
            "BAD_CODE", "社区代码为 1-20 个小写字母、数字、- 或 _，且不以 sd- 开头",
            "a community code is 1-20 lower-case letters, digits, - or _, not starting sd-")
    if not name or len(name) > 60 or len(subdistrict) > 60:
        raise CommunityError("BAD_NAME", "社区名称必填，最多 60 字",
                             "a community needs a name of at most 60 characters")
    if db.session.scalar(select(Community.id).where(Community.code == code)) is not None:
        raise CommunityError("EXISTS", f"社区 {code} 已存在", f"community {code} exists already")
    community = Community(code=code, name=name, subdistrict=subdistrict,
                          kind=CommunityKind.COMMUNITY.value)
    db.session.add(community)
    if subdistrict:
        subdistrict_row(subdistrict)
    db.session.flush()
    record_action("community.create", f"community:{code}", detail=f"{name} {subdistrict}".strip())
    return community


def subdistrict_row(name: str) -> Community:
    """The sub-district's own row (kind "subdistrict"), created on first need."""
    sub = CommunityKind.SUBDISTRICT.value
    row = db.session.scalar(select(Community).where(Community.kind == sub,
                                                    Community.subdistrict == name))
    if row is None:
        n = db.session.scalar(select(func.count(Community.id)).where(Community.kind == sub)) + 1
        while db.session.scalar(select(Community.id).where(
                Community.code == f"{SUBDISTRICT_PREFIX}{n}")) is not None:
            n += 1
        row = Community(code=f"{SUBDISTRICT_PREFIX}{n}", name=name, subdistrict=name, kind=sub)
        db.session.add(row)
        db.session.flush()
    return row


def remove_community(community: Community) -> dict[str, int]:
    """Delete every row of ``community`` and the community itself (after it moved to a
    database of its own: ``backup --community`` first). Its logins are deleted too, unless
    another community's rows still name them: those are disabled and left without one."""
    from ..models import User
    counts: dict[str, int] = {}
    cid = community.id
    owned = [t for t in db.metadata.sorted_tables
             if "community_id" in t.c and t.name != "users"]
    for table in reversed(owned):
        n = db.session.execute(delete(table).where(table.c.community_id == cid)).rowcount
        if n:
            counts[table.name] = n
    users = db.session.scalars(select(User).where(User.community_id == cid)).all()
    for user in users:
        user.active, user.community_id = False, None
        user.end_sessions()
    db.session.flush()
    counts["users"] = _delete_unreferenced(User, [u.id for u in users])
    code = community.code
    db.session.delete(community)
    db.session.flush()
    record_action("community.remove", f"community:{code}",
                  detail=", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _delete_unreferenced(model, ids: list[int]) -> int:
    """Delete the rows of ``model`` among ``ids`` that no foreign key names any more."""
    table = model.__table__
    named = set()
    for other in db.metadata.sorted_tables:
        for column in other.c:
            if any(fk.column.table is table for fk in column.foreign_keys) and ids:
                named.update(db.session.scalars(select(column).where(column.in_(ids))))
    gone = [i for i in ids if i not in named]
    if gone:
        db.session.execute(delete(table).where(table.c.id.in_(gone)))
    return len(gone)
