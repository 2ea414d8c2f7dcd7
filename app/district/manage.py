"""What a sub-district user manages from /district/: its communities and their admins.

A sub-district opens a community (a code and a name; the sub-district is always the user's
own) and gives it its first admin, who then runs it like any single community. Both are office
actions: audited here, where they are done (``app.common.audit``), so the page and a test
record the same entry. A sub-district can never reach beyond its own sub-district: the
community an admin is made for must be one of its own.
"""
from __future__ import annotations

import re

from ..common.audit import record_action
from ..common.errors import Conflict, NotFound, ServiceError
from ..extensions import db
from ..models import User
from ..models.communities import Community
from gatepass.roles import Role

#: Lower-case letters, digits and dashes; "sd-…" is kept for sub-districts' own rows.
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,40}$")
MIN_PASSWORD = 8
KIND_COMMUNITY = "community"


class ManageError(ServiceError):
    """A community or admin that cannot be created as asked."""


def communities_of(subdistrict: str) -> list[Community]:
    """The sub-district's communities (not its own pseudo-community), by code."""
    return list(db.session.scalars(
        db.select(Community).where(Community.subdistrict == subdistrict,
                                   Community.kind == KIND_COMMUNITY)
        .order_by(Community.code)))


def community_of(subdistrict: str, code: str) -> Community:
    """One of the sub-district's communities by code; another's is as unknown as a typo."""
    row = db.session.scalar(db.select(Community).where(
        Community.code == code, Community.subdistrict == subdistrict,
        Community.kind == KIND_COMMUNITY))
    if row is None:
        raise NotFound("NO_COMMUNITY", "没有这个社区", "no such community")
    return row


def create_community(code: str, name: str, subdistrict: str) -> Community:
    """A new community of ``subdistrict`` (the caller commits)."""
    code, name = (code or "").strip().lower(), (name or "").strip()
    if not CODE.match(code) or code.startswith("sd-"):
        raise ManageError("BAD_CODE", "社区代码只能用小写字母、数字和短横线（不超过 20 个），且不能以 sd- 开头",
                          "a community code is lower-case letters, digits and dashes (at most 20), "
                          "not starting with sd-")
    if not name or len(name) > 60:
        raise ManageError("BAD_NAME", "请填写社区名称（不超过 60 字）",
                          "give the community a name (at most 60 characters)")
    if db.session.scalar(db.select(Community.id).where(Community.code == code)) is not None:
        raise Conflict("CODE_TAKEN", f"社区代码 {code} 已被使用", f"the code {code} is taken")
    # One way to make a community (also `communities create`): its sub-district's own row
    # comes with it, and its key ring is made when its first pass is signed.
    from ..services.communities import create_community as create
    return create(code, name, subdistrict)


def create_admin(community: Community, username: str, password: str,
                 display_name: str = "") -> User:
    """The community's admin login (the caller commits)."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ManageError("BAD_USERNAME", "用户名为 2-40 个字母、数字或 . _ -",
                          "a username is 2-40 letters, digits or . _ -")
    if len(password or "") < MIN_PASSWORD:
        raise ManageError("SHORT_PASSWORD", f"密码至少 {MIN_PASSWORD} 位",
                          f"a password has at least {MIN_PASSWORD} characters")
    if db.session.scalar(db.select(User.id).where(User.username == username)) is not None:
        raise Conflict("USERNAME_TAKEN", f"用户名 {username} 已被使用",
                       f"the username {username} is taken")
    user = User(username=username, role=Role.ADMIN.value, display_name=display_name.strip()[:60]
                or username, community_id=community.id)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record_action("community.admin", f"user:{username}", detail=f"admin of {community.code}")
    return user
