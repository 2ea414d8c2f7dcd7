"""Which community a sub-district user is looking into, kept in the login session.

``/district/c/<code>/`` stores the community's id under ``community_id`` (the key
``app.tenancy.scope_for_user`` reads: the user's scope narrows to that one community and the
office pages show it alone); any /district/ page forgets it, so the sub-district's own view is
always every community. The banner "正在查看：<name>  返回街道" on every page while it is set is
drawn from ``banner()``.
"""
from __future__ import annotations

from flask import session
from flask_login import current_user

from ..extensions import db
from ..models.communities import Community
from gatepass.roles import Role

KEY = "community_id"


def is_district_user() -> bool:
    return getattr(current_user, "is_authenticated", False) and current_user.role == Role.DISTRICT


def choose(community: Community) -> None:
    session[KEY] = community.id


def forget() -> bool:
    """Back to the whole sub-district; whether a community had been chosen."""
    return session.pop(KEY, None) is not None


def chosen_id() -> int | None:
    return session.get(KEY) if is_district_user() else None


def banner() -> Community | None:
    """The community a sub-district user is looking into (for the banner), if any."""
    cid = chosen_id()
    return db.session.get(Community, cid) if cid else None
