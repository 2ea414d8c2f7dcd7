"""The demo's home quarantine: three arrival cohorts, ~20 people, the day's loose ends.

Called from ``demo.build_community``: cohorts that arrived 12, 6 and 1 days
ago, their twice-daily reports (a few missed, today's morning one missing for
some), one fever with its open alert, home checks and errands, pending
self-registrations from the 东门 poster, and an episode ended a week ago with
its health certificate.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from ..config import community_tz
from ..extensions import db
from .models import Errand, HomeCheck, Registration
from ..models import Gate
from .readings import TemperatureReport
from gatepass.quarantine import Outcome
from . import certificates, episodes as health

ORIGINS = ["海南省三亚市", "上海市浦东新区", "广东省广州市", "黑龙江省哈尔滨市", "吉林省长春市",
           "四川省成都市", "河北省石家庄市"]
COHORTS = ((12, 7), (6, 7), (1, 6))  # (days since arrival, people)
PENDING = [("周晓雯", "海南省三亚市", "flight", "HU7181"), ("孙立新", "上海市浦东新区", "train", "G102"),
           ("何静怡", "河北省石家庄市", "car", "冀A3K2L8")]


def build_health(rng, residents: list, now: datetime, poster_gate: str = "东门") -> dict:
    """Quarantines, reports, one fever and pending registrations; ``poster_gate``: the gate
    whose poster the arrivals scanned."""
    tz = community_tz()
    chosen = rng.sample(residents, min(len(residents), sum(n for _, n in COHORTS) + 1))
    it = iter(chosen)
    episodes = []
    for ago, n in COHORTS:
        for _ in range(n):
            person = next(it, None)
            if person is None:
                break
            arrived = now - timedelta(days=ago, hours=rng.randint(0, 8))
            mode = rng.choice(["train", "flight", "car"])
            number = {"train": f"G{rng.randint(1, 999)}", "flight": f"CA{rng.randint(1000, 1999)}",
                      "car": "京A" + str(rng.randint(10000, 99999))}[mode]
            ep = health.start_episode(person, arrived, origin=rng.choice(ORIGINS), travel_mode=mode,
                                      travel_number=number, now=now)
            episodes.append(ep)
            _reports(rng, ep, now, tz)
    if episodes:
        feverish = episodes[len(episodes) // 2]
        health.record_report(feverish, 38.4, "咳嗽", at=now - timedelta(minutes=40))
        for ep in episodes[:5]:
            db.session.add(HomeCheck(episode=ep, method=rng.choice(["door", "video"]), result="at_home",
                                     note="", checked_at=now - timedelta(days=rng.randint(0, 4), hours=2)))
            db.session.add(Errand(episode=ep, household_id=ep.person.household_id, kind="parcel",
                                  note="快递 1 件", done_at=now - timedelta(days=1, hours=3)))
    ended_person = next(it, None)
    if ended_person is not None:
        ep = health.start_episode(ended_person, now - timedelta(days=21), origin="吉林省长春市",
                                  travel_mode="train", travel_number="G384", now=now - timedelta(days=21))
        _reports(rng, ep, now - timedelta(days=7), tz)
        health.end_episode(ep, Outcome.COMPLETED, now=now - timedelta(days=7))
        certificates.issue(ep, None, now=now - timedelta(days=7))
    _pending(rng, now, tz, poster_gate)
    return {"in_quarantine": len(episodes), "cohorts": len(COHORTS), "pending": len(PENDING)}


def _reports(rng, ep, until: datetime, tz) -> None:
    """Morning (~8:00) and afternoon (~15:00) readings from the start until ``until``, 90 % kept."""
    day = ep.started_at.astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        for hour in (8, 15):
            at = datetime.combine(day, time(hour, rng.randint(0, 50)), tz)
            if ep.started_at <= at < until and rng.random() < 0.9:
                db.session.add(TemperatureReport(person=ep.person, episode_id=ep.id, taken_at=at,
                                                 value=round(rng.gauss(36.5, 0.25), 1), symptoms=""))
        day += timedelta(days=1)


def _pending(rng, now: datetime, tz, poster_gate: str) -> None:
    gate = db.session.scalar(db.select(Gate).where(Gate.name == poster_gate))
    from ..models import Household
    homes = db.session.scalars(db.select(Household).limit(50)).all()
    for i, (name, origin, mode, number) in enumerate(PENDING):
        at = now - timedelta(hours=i * 3 + 1)
        db.session.add(Registration(
            gate_id=gate.id if gate else None, status="pending", name=name,
            phone=f"1880000{i:04d}", id_card_masked=f"4601{'*' * 10}{rng.randint(1000, 9999)}",
            origin=origin, arrived_on=at.astimezone(tz).date(), travel_mode=mode, travel_number=number,
            household_id=rng.choice(homes).id if homes else None, reason="返乡", symptoms="",
            consent_at=at, address="10.0.0.%d" % (20 + i), created_at=at, updated_at=at,
            reject_reason=""))
