"""Notices (公告): what the office tells residents and guards, for a time.

A notice is for everyone, one category of holders, or one building; it shows
from ``starts_at`` until ``ends_at`` (either may be empty: from now, until
taken down) on residents' pass pages, on the gate page, and as an A4 poster.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, or_

from gatepass.categories import CATEGORIES
from ..extensions import db
from ..models import Building, Pass
from .models import Notice
from ..common.errors import ServiceError, must_exist

AUDIENCES = ("everyone", "category", "building")


class NoticeError(ServiceError):
    """A notice that cannot be saved as typed."""


def save_notice(notice: Notice | None, *, title: str, body: str, audience: str = "everyone",
                audience_value: str = "", starts_at: datetime | None = None,
                ends_at: datetime | None = None, user_id: int | None = None) -> Notice:
    title = (title or "").strip()
    if not title:
        raise NoticeError("NO_TITLE", "请填写标题", "a title is required")
    if audience not in AUDIENCES:
        raise NoticeError("BAD_AUDIENCE", "对象须为全体、某类人员或某栋楼",
                          "audience is everyone, a category or a building")
    value = (audience_value or "").strip()
    if audience == "category" and value not in CATEGORIES:
        raise NoticeError("BAD_CATEGORY", "请选择人员类别", "choose a category")
    if audience == "building" and (not value.isdigit() or db.session.get(Building, int(value)) is None):
        raise NoticeError("BAD_BUILDING", "请选择楼栋", "choose a building")
    if starts_at and ends_at and ends_at <= starts_at:
        raise NoticeError("BAD_PERIOD", "结束时间须晚于开始时间", "until must be after from")
    notice = notice or Notice(created_by=user_id)
    notice.title, notice.body = title[:80], (body or "").strip()[:4000]
    notice.audience, notice.audience_value = audience, value if audience != "everyone" else ""
    notice.starts_at, notice.ends_at = starts_at, ends_at
    db.session.add(notice)
    db.session.flush()
    return notice


def get_notice(notice_id: int | None) -> Notice:
    """The notice, or NotFound; also for no id at all (`?edit=abc` parses to None, which
    SQLAlchemy warns it may one day refuse rather than find nothing)."""
    row = db.session.get(Notice, notice_id) if notice_id is not None else None
    return must_exist(row, "NO_NOTICE", "没有这条公告", "no such notice")


def _live(now: datetime):
    return and_(or_(Notice.starts_at.is_(None), Notice.starts_at <= now),
                or_(Notice.ends_at.is_(None), Notice.ends_at > now))


def current_notices(now: datetime | None = None) -> list[Notice]:
    """Every notice showing now, newest first (the gate page shows them all)."""
    now = now or datetime.now(timezone.utc)
    return list(db.session.scalars(db.select(Notice).where(_live(now))
                                   .order_by(Notice.created_at.desc(), Notice.id.desc())))


def notices_for(p: Pass, now: datetime | None = None) -> list[Notice]:
    """The notices a pass holder sees on their phone."""
    building = None
    holder = p.person or p.vehicle
    if holder is not None and holder.household is not None:
        building = str(holder.household.building_id)
    out = []
    for n in current_notices(now):
        if n.audience == "everyone" or \
                (n.audience == "category" and n.audience_value == p.category) or \
                (n.audience == "building" and building and n.audience_value == building):
            out.append(n)
    return out


def all_notices() -> list[Notice]:
    return list(db.session.scalars(db.select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc())))


def audience_text(n: Notice, lang: str = "zh") -> str:
    from gatepass.categories import label
    if n.audience == "category":
        return label(n.audience_value, lang)
    if n.audience == "building":
        b = db.session.get(Building, int(n.audience_value)) if n.audience_value.isdigit() else None
        return b.name if b else "?"
    return "everyone" if lang == "en" else "全体"
