"""Home checks (入户敲门检查, 视频抽查) and errands (代取快递, 代购, 发放消毒物品) for quarantined homes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gatepass.quarantine import CheckMethod, CheckResult, ErrandKind

from ..extensions import db
from .models import Errand, HomeCheck, QuarantineEpisode
from ..common.errors import ServiceError


class HomecareError(ServiceError):
    """A check or errand that cannot be logged as asked."""


def log_check(ep: QuarantineEpisode, method: str, result: str, note: str = "",
              user_id: int | None = None, at: datetime | None = None) -> HomeCheck:
    if method not in set(CheckMethod):
        raise HomecareError("BAD_METHOD", "请选择检查方式（敲门/视频）", "choose door knock or video call")
    if result not in set(CheckResult):
        raise HomecareError("BAD_RESULT", "请选择检查结果", "choose the result")
    if not ep.is_open:
        raise HomecareError("EPISODE_ENDED", "隔离已结束", "the quarantine has ended")
    check = HomeCheck(episode=ep, method=method, result=result, note=(note or "").strip()[:200],
                      by_user=user_id, checked_at=at or datetime.now(timezone.utc))
    db.session.add(check)
    return check


def log_errand(ep: QuarantineEpisode, kind: str, note: str = "", user_id: int | None = None,
               at: datetime | None = None) -> Errand:
    if kind not in set(ErrandKind):
        raise HomecareError("BAD_ERRAND", "请选择代办事项", "choose what was done")
    errand = Errand(episode=ep, household_id=ep.person.household_id, kind=kind,
                    note=(note or "").strip()[:200], by_user=user_id,
                    done_at=at or datetime.now(timezone.utc))
    db.session.add(errand)
    return errand


def checks_of(ep: QuarantineEpisode) -> list[HomeCheck]:
    return list(db.session.scalars(db.select(HomeCheck).where(HomeCheck.episode_id == ep.id)
                                   .order_by(HomeCheck.checked_at.desc())))


def errands_of(ep: QuarantineEpisode) -> list[Errand]:
    """The household's errands during this stay (a household may hold two returnees)."""
    cond = Errand.episode_id == ep.id
    if ep.person.household_id:
        cond = cond | ((Errand.household_id == ep.person.household_id)
                       & (Errand.done_at >= ep.started_at))
    return list(db.session.scalars(db.select(Errand).where(cond).order_by(Errand.done_at.desc())))


def recent_errands(limit: int = 100) -> list[Errand]:
    return list(db.session.scalars(db.select(Errand).order_by(Errand.done_at.desc()).limit(limit)))


def last_checks(episodes: list[QuarantineEpisode]) -> dict[int, datetime | None]:
    ids = [e.id for e in episodes]
    out: dict[int, datetime | None] = dict.fromkeys(ids)
    if ids:
        for eid, at in db.session.execute(db.select(HomeCheck.episode_id, db.func.max(HomeCheck.checked_at))
                                          .where(HomeCheck.episode_id.in_(ids))
                                          .group_by(HomeCheck.episode_id)):
            out[eid] = at
    return out


def not_checked(episodes: list[QuarantineEpisode], days: int,
                now: datetime | None = None) -> list[tuple[QuarantineEpisode, datetime | None]]:
    """Open episodes whose home was not checked in the last ``days`` days (never checked first)."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    last = last_checks(episodes)
    out = []
    for ep in episodes:
        seen = last[ep.id]
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=timezone.utc)
        if (seen or ep.started_at) < cutoff:
            out.append((ep, seen))
    return sorted(out, key=lambda pair: (pair[1] is not None, pair[1] or pair[0].started_at))
