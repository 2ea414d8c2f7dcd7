"""The demo's gate duty: guards in four teams with PINs, 东门 on eight 3-hour shifts and 北门 on
rotating teams, this week's plan, a guard on duty at each gate with the last shift's handover, a
day of logbook events, six scattered compounds with their checks, and notices.

Called from ``demo.build_community`` after the gates and buildings exist (docs/gate-duty.md).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from gatepass import duty as rules
from gatepass.logbook import TURN_AWAY_REASONS
from ..config import community_tz
from ..demo import Site, chinese_name
from ..extensions import db
from ..models import User
from . import guards as duty
from .models import GateEvent, Notice, Place, SpotCheck

DEMO_PLACES = [("清河一街6号院", "清河一街6号", 4), ("二拨子3号楼", "二拨子路3号", 4),
               ("毛纺路南院", "毛纺路12号", 6), ("安宁里小院", "安宁里5号", 4),
               ("朱房平房区", "朱房村东", 8), ("铁路宿舍", "清河站西", 6)]
DEMO_NOTICES = [
    ("全员核酸检测通知", "明天上午 8:00-11:00 在小区广场进行全员核酸检测，请按楼栋错峰排队，"
     "佩戴口罩，保持一米间距。\n行动不便的居民请联系楼长，医护人员上门采样。", "everyone", ""),
    ("环卫工人出行时段调整", "即日起环卫工人出行时段为 03:00-09:00、15:00-21:00，请从{0}或{1}通行。",
     "category", "sanitation"),
]


COURIERS = ["顺丰", "京东", "美团", "中通", "饿了么", "邮政"]
EVENT_KINDS = ["turn_away"] * 5 + ["visitor"] * 3 + ["courier"] * 6 + ["vehicle"] * 2 + ["incident"]


def build_duty(rng, devices, buildings, now, site: Site = Site()) -> dict:
    """The whole of gate duty for the demo; returns what the demo command prints. ``devices``:
    gate name -> device, ``site.gates`` order (the main gate, called east below, first)."""
    guard_user = db.session.scalar(db.select(User).where(User.username == site.guard_login))
    team_guards, volunteers, pins = _guards(rng, guard_user, site.guard_name)
    staff = team_guards + volunteers
    east, north = devices[site.gates[0]], devices[site.gates[1]]
    _shifts(east, north, staff, now)
    _on_duty(team_guards, east, north, now)
    n_events = _events(rng, east, north, len(buildings), now)
    n_places = _places(rng, guard_user, now, site.places or DEMO_PLACES)
    _notices(buildings, now, site.gates)
    db.session.flush()
    return {"guards": len(staff), "pins": pins, "events": n_events, "places": n_places}


def _guards(rng, guard_user, guard_name: str) -> tuple[list, list, dict]:
    """Three guards per team (``guard_name``, PIN 1234, is the guard login) and four volunteers."""
    pins, team_guards = {}, []
    for i, team in enumerate(rules.TEAMS):
        for j in range(3):
            name = guard_name if (i, j) == (0, 0) else chinese_name(rng)
            pin = "1234" if (i, j) == (0, 0) else f"{2000 + 10 * i + j}"
            g = duty.add_guard(name, "guard", team, f"135{rng.randint(0, 10**8 - 1):08d}", pin,
                               guard_user.id if guard_user and (i, j) == (0, 0) else None)
            pins[name] = pin
            team_guards.append(g)
    volunteers = [duty.add_guard(chinese_name(rng), "volunteer", None, "", f"{3000 + k}")
                  for k in range(4)]
    for v in volunteers:
        pins[v.name] = f"{3000 + volunteers.index(v)}"
    return team_guards, volunteers, pins


def _shifts(east, north, staff, now) -> None:
    """The main gate (东门 in c1) on eight shifts (two of the staff on each), the other on
    rotating teams, two weeks."""
    monday = rules.week_start(now.astimezone(community_tz()).date())
    duty.set_pattern(east.gate, "eight")
    duty.set_pattern(north.gate, "teams", anchor=monday)
    for week in (monday, monday + timedelta(days=7)):
        for k, shift in enumerate(duty.plan_week(east.gate, week)):
            if not shift.assignments:
                for g in (staff[(2 * k) % len(staff)], staff[(2 * k + 1) % len(staff)]):
                    duty.assign(shift.id, g.id)
        duty.plan_week(north.gate, week)


def _on_duty(team_guards, east, north, now) -> None:
    """The last shift at 东门 handed over three hours ago; now 赵师傅 is on duty there."""
    prev = team_guards[4]
    duty.sign_on(prev, east.gate, east, "pin", now - timedelta(hours=6))
    duty.sign_off(prev, east.gate, "北侧路灯不亮，已报物业；3号楼 502 快递放在货架，住户明早取。",
                  waiting_upload=0, now=now - timedelta(hours=3))
    duty.sign_on(team_guards[0], east.gate, east, "pin", now - timedelta(hours=3))
    duty.sign_on(team_guards[7], north.gate, north, "pin", now - timedelta(hours=2))


def _events(rng, east, north, n_buildings: int, now) -> int:
    """Today's logbook so far: a few events an hour, most at 东门."""
    today = datetime.now(community_tz()).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = max(1, int((now - today).total_seconds() // 3600))
    n_events = 0
    for _ in range(min(60, 6 + 3 * hours)):
        kind = rng.choice(EVENT_KINDS)
        device = east if rng.random() < 0.65 else north
        at = (today + timedelta(minutes=rng.randint(0, hours * 60 - 1))).astimezone(timezone.utc)
        fields, note = _event_fields(rng, kind, n_buildings)
        shift = duty.current_shift(device.gate_id, at)
        on = shift.assignments[0].guard_id if shift and shift.assignments else None
        db.session.add(GateEvent(nonce=uuid.uuid4().hex, kind=kind, gate_id=device.gate_id,
                                 device_id=device.id, guard_id=on, at=at,
                                 received_at=at, note=note, fields=fields))
        n_events += 1
    return n_events


def _event_fields(rng, kind: str, n_buildings: int) -> tuple[dict, str]:
    """What a guard would write down for one event of ``kind`` (fields, note). The random draws
    keep their order (name, phone, room...), so a seed gives the demo it always gave."""
    if kind == "turn_away":
        fields = {"reason": rng.choice(TURN_AWAY_REASONS)}
        if fields["reason"] == "outside_vehicle":
            fields["plate"] = f"冀F{rng.randint(10000, 99999)}"
        return fields, rng.choice(["坚持要进去看朋友，值班人员轮流劝说后离开",
                                   "无本小区通行证", "外卖员要求进楼，已劝返至货架", ""])
    if kind == "visitor":
        name, phone = chinese_name(rng), f"13{rng.randint(0, 10**9 - 1):09d}"
        room = f"{rng.randint(1, n_buildings)}号楼{rng.randint(1, 6)}0{rng.randint(1, 2)}"
        return {"name": name, "phone": phone, "host_household": room,
                "purpose": rng.choice(["送药", "照顾老人", "维修水管"]), "direction": "in"}, ""
    if kind == "courier":
        return {"company": rng.choice(COURIERS), "parcels": rng.randint(1, 30),
                "disinfected": rng.random() < 0.95,
                "handed_to": rng.choice(["货架", "楼长", "住户本人"])}, ""
    if kind == "vehicle":
        return {"plate": f"京{rng.choice('ABCEFGHJKLMNPQ')}{rng.randint(10000, 99999)}",
                "driver_phone": f"13{rng.randint(0, 10**9 - 1):09d}", "reason": rng.choice(["送菜", "医疗物资", "垃圾清运"]),
                "direction": rng.choice(["in", "out"])}, ""
    return {"type": rng.choice(["abuse", "refused_registration", "forced_entry"]),
            "description": "一男子拒绝扫码并辱骂值班人员，已劝离并报告社区"}, ""


def _places(rng, guard_user, now, chosen) -> int:
    """Six scattered compounds, each checked once: two overdue, the rest within their interval."""
    places = [Place(name=n, address=a, check_every_hours=h) for n, a, h in chosen]
    db.session.add_all(places)
    db.session.flush()
    if guard_user:
        for i, place in enumerate(places):
            ago = timedelta(hours=place.check_every_hours + 2) if i in (1, 4) else \
                timedelta(minutes=rng.randint(20, 60 * place.check_every_hours - 30))
            db.session.add(SpotCheck(nonce=uuid.uuid4().hex, place_id=place.id,
                                     user_id=guard_user.id, at=now - ago, received_at=now - ago,
                                     response={"place": place.name}))
            place.last_check_at = now - ago
    return len(places)


def _notices(buildings, now, gates: tuple[str, str]) -> None:
    """The notices for everyone and for sanitation workers, and a water cut in one building."""
    for title, body, audience, value in DEMO_NOTICES:
        db.session.add(Notice(title=title, body=body.format(*gates), audience=audience,
                              audience_value=value,
                              starts_at=now - timedelta(hours=5), ends_at=now + timedelta(days=3)))
    if buildings:
        db.session.add(Notice(title=f"{buildings[0].name}今日停水",
                              body="今日 14:00-16:00 维修管道停水，请提前储水。",
                              audience="building", audience_value=str(buildings[0].id),
                              starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)))
