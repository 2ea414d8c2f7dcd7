"""``flask --app app demo``: a believable community to try everything on.

Modelled on a real closed community: two open gates (东门, 北门), a dozen
buildings, ~300 households, ~800 people among them 50 sanitation workers who
leave at 4 a.m., ~100 vehicles, and a day of scans with the 8 a.m. and 4 p.m.
peaks. Seeded, so every run makes the same community.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .extensions import db
from .config import community_tz
from .models import Building, Household, Pass, Person, Scan, User, Vehicle
from gatepass.categories import VehicleKind, mask_id_card
from gatepass.roles import Role
from gatepass.status import PassStatus
from gatepass.wire import DIRECTIONS
from .services.devices import create_device
from .services.rules import set_rule

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文辉力军国强建国志强春梅海燕小红晓东子涵浩然欣怡梓萱宇轩雨桐思远一鸣嘉怡俊杰婷婷佳琪"
PROVINCE_PLATES = "京京京京京冀津鲁晋豫"
DEMO_LOGINS = [("admin", Role.ADMIN, "管理员", "admin-demo"),
               ("office", Role.OFFICE, "物业 王主任", "office-demo"),
               ("health", Role.HEALTH, "社区医生 李大夫", "health-demo"),
               ("guard", Role.GUARD, "门岗 赵师傅", "guard-demo")]


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) if rng.random() < 0.3 else rng.choice(GIVEN) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + given


def _id_card(rng: random.Random) -> str:
    return mask_id_card(f"1101{rng.randint(0, 99):02d}{rng.randint(1950, 2015)}"
                        f"{rng.randint(101, 1228):04d}{rng.randint(0, 999):03d}{rng.choice('0123456789X')}")


@dataclass(frozen=True)
class Sizes:
    """How many of each a community of ``n_passes`` passes has."""

    passes: int
    vehicles: int
    people: int
    sanitation: int
    other: int  # staff, and as many couriers
    residents: int
    households: int
    buildings: int

    @classmethod
    def for_passes(cls, n_passes: int) -> "Sizes":
        vehicles = max(1, n_passes // 9)
        people = n_passes - vehicles
        sanitation = min(50, max(1, people // 16))
        other = people // 40
        residents = people - sanitation - 2 * other
        households = max(1, round(residents / 2.4))
        return cls(n_passes, vehicles, people, sanitation, other, residents, households,
                   buildings=max(1, min(60, round(households / 25))))


def build_community(n_passes: int = 900, seed: int = 7, scans: bool = True) -> dict:
    """Add a whole community to the session; the same ``seed`` makes the same one."""
    rng = random.Random(seed)
    size = Sizes.for_passes(n_passes)
    households = _households(size)
    people = _people(rng, size, households)
    vehicles = _vehicles(rng, size.vehicles, households)
    db.session.flush()
    now = datetime.now(timezone.utc)
    passes = _passes(rng, people, vehicles, now)
    set_rule("sanitation", "03:00-09:00,15:00-21:00", "")
    set_rule("courier", "07:00-21:00", "东门")
    set_rule("vehicle", "", "", anti_passback=False)
    gates, tokens = {}, {}
    for gate_name in ("东门", "北门"):
        gates[gate_name], tokens[gate_name] = create_device(gate_name, f"{gate_name}-笔记本1")
    n_scans = _demo_scans(rng, passes, gates, now) if scans else 0
    db.session.flush()
    from .health.demo import build_health  # home quarantine: docs/health.md
    health = build_health(rng, [p for p in people if p.household is not None], now)
    db.session.flush()
    buildings = db.session.scalars(db.select(Building).order_by(Building.id)).all()
    duty_info = _demo_duty(rng, gates, buildings, now)
    return {"duty": duty_info, "passes": len(passes), "people": size.people,
            "households": size.households,
            "buildings": size.buildings, "vehicles": size.vehicles,
            "sanitation": size.sanitation, "scans": n_scans, "tokens": tokens, "health": health}


def _households(size: Sizes) -> list[Household]:
    """Buildings 1号楼..., three units each, two flats a floor, filled building by building."""
    buildings = [Building(name=f"{i}号楼") for i in range(1, size.buildings + 1)]
    db.session.add_all(buildings)
    households = []
    for i in range(size.households):
        k = i // size.buildings
        unit, rest = k % 3 + 1, k // 3
        households.append(Household(building=buildings[i % size.buildings], unit=f"{unit}单元",
                                    room=f"{rest // 2 + 1}{rest % 2 + 1:02d}"))
    db.session.add_all(households)
    return households


EMPLOYERS = {"sanitation": "区环卫所", "staff": "物业公司", "courier": "顺丰速运"}


def _people(rng: random.Random, size: Sizes, households: list[Household]) -> list[Person]:
    """Residents and tenants at home; sanitation workers, staff and couriers without one."""
    phones = rng.sample(range(10**9), size.people)
    people = []
    for i in range(size.people):
        if i < size.residents:
            cat = "tenant" if rng.random() < 0.18 else "resident"
            hh = households[i % size.households]
        else:
            j = i - size.residents
            cat = "sanitation" if j < size.sanitation else (
                "staff" if j < size.sanitation + size.other else "courier")
            hh = None
        people.append(Person(household=hh, name=_name(rng), phone=f"13{phones[i]:09d}",
                             category=cat, id_card_masked=_id_card(rng),
                             employer=EMPLOYERS.get(cat, ""),
                             is_returnee=False))  # build_health marks returnees
    db.session.add_all(people)
    return people


def _vehicles(rng: random.Random, n: int, households: list[Household]) -> list[Vehicle]:
    """Mostly residents' cars (85 %), the rest from outside; every plate different."""
    plates: set[str] = set()
    vehicles = []
    while len(vehicles) < n:
        plate = f"{rng.choice(PROVINCE_PLATES)}{rng.choice('ABCEFGHJKLMNPQ')}" \
                f"{''.join(rng.choice('0123456789ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(5))}"
        if plate in plates:
            continue
        plates.add(plate)
        own = rng.random() < 0.85
        hh = rng.choice(households) if own else None
        vehicles.append(Vehicle(plate=plate, kind=(VehicleKind.OWN if own else VehicleKind.OUTSIDE).value, household=hh))
    db.session.add_all(vehicles)
    return vehicles


def _passes(rng: random.Random, people: list[Person], vehicles: list[Vehicle],
            now: datetime) -> list[Pass]:
    """A pass for everyone; a few lost cards reissued, some suspended or revoked."""
    passes = [Pass(person=p, category=p.category, issued_at=now - timedelta(days=rng.randint(1, 30)),
                   valid_until=now + timedelta(days=90) if p.category in ("courier", "staff") else None)
              for p in people]
    passes += [Pass(vehicle=v, category="vehicle", issued_at=now - timedelta(days=rng.randint(1, 30)))
               for v in vehicles]
    db.session.add_all(passes)
    db.session.flush()
    for p in rng.sample(passes, max(1, len(passes) // 60)):
        p.serial = 2
    for p in rng.sample(passes, max(1, len(passes) // 150)):
        p.status = PassStatus.SUSPENDED.value
    for p in rng.sample(passes, max(1, len(passes) // 150)):
        p.status = PassStatus.REVOKED.value
    return passes


def _demo_scans(rng, passes, devices, now) -> int:
    """A day at the gates: out in the morning peak, back in the afternoon peak."""
    tz = community_tz()
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    live = [p for p in passes if p.status == PassStatus.ACTIVE]
    rows = []
    for p in rng.sample(live, int(len(live) * 0.55)):
        if p.category == "sanitation":
            out_h, in_h = rng.gauss(4.0, 0.4), rng.gauss(16.5, 0.7)
        else:
            out_h, in_h = rng.gauss(8.5, 0.6), rng.gauss(16.5, 0.7)  # the 8 and 16 o'clock peaks
        gate = "东门" if rng.random() < 0.65 else "北门"
        for direction, hour in (("out", out_h), ("in", in_h)):
            at = (today + timedelta(hours=min(max(hour, 0.1), 23.9))).astimezone(timezone.utc)
            if at > now:
                at = at - timedelta(days=1)
            rows.append((at, p, direction, gate))
    rows.sort(key=lambda r: r[0])
    count = 0
    for at, p, direction, gate in rows:
        device = devices[gate]
        db.session.add(Scan(nonce=uuid.uuid4().hex, device=device, gate=device.gate, pass_=p,
                            direction=direction, scanned_at=at, received_at=at, allowed=True,
                            reason="OK", raw_text="", temperature=round(rng.gauss(36.4, 0.25), 1),
                            response={"allowed": True, "reason": "OK"}))
        p.inside = direction == "in"
        p.last_scan_at = at
        p.last_gate_id = device.gate.id
        count += 1
    denials = [("BAD_FORMAT", "https://weixin.qq.com/r/xyz"), ("STALE", ""), ("SUPERSEDED", ""),
               ("OUTSIDE_HOURS", ""), ("ALREADY_INSIDE", ""), ("REVOKED", ""), ("BAD_SIGNATURE", "")]
    for _ in range(max(3, len(rows) // 40)):
        reason, raw = rng.choice(denials)
        at = now - timedelta(minutes=rng.randint(5, 23 * 60))
        device = rng.choice(list(devices.values()))
        db.session.add(Scan(nonce=uuid.uuid4().hex, device=device, gate=device.gate, pass_=None,
                            direction=rng.choice(DIRECTIONS), scanned_at=at, received_at=at,
                            allowed=False, reason=reason, raw_text=raw or "GPS.k1.??",
                            response={"allowed": False, "reason": reason}))
        count += 1
    return count


def create_demo_users() -> list[tuple[str, str, str]]:
    out = []
    for username, role, name, password in DEMO_LOGINS:
        if not db.session.scalar(db.select(User).where(User.username == username)):
            u = User(username=username, role=role, display_name=name)
            u.set_password(password)
            db.session.add(u)
        out.append((username, password, role))
    return out


# -- gate duty (issue 11): guards, shifts, the logbook, spot checks, notices ---------

DEMO_PLACES = [("清河一街6号院", "清河一街6号", 4), ("二拨子3号楼", "二拨子路3号", 4),
               ("毛纺路南院", "毛纺路12号", 6), ("安宁里小院", "安宁里5号", 4),
               ("朱房平房区", "朱房村东", 8), ("铁路宿舍", "清河站西", 6)]
DEMO_NOTICES = [
    ("全员核酸检测通知", "明天上午 8:00-11:00 在小区广场进行全员核酸检测，请按楼栋错峰排队，"
     "佩戴口罩，保持一米间距。\n行动不便的居民请联系楼长，医护人员上门采样。", "everyone", ""),
    ("环卫工人出行时段调整", "即日起环卫工人出行时段为 03:00-09:00、15:00-21:00，请从东门或北门通行。",
     "category", "sanitation"),
]


def _demo_duty(rng, devices, buildings, now) -> dict:
    """Guards in four teams with PINs, 东门 on eight 3-hour shifts and 北门 on rotating
    teams, this week's plan, a guard on duty at each gate with the last shift's handover,
    a day of logbook events, six scattered compounds with their checks, and notices."""
    from gatepass import duty as rules
    from gatepass.logbook import TURN_AWAY_REASONS
    from .models import GateEvent, Notice, Place, SpotCheck, User
    from .duty import guards as duty
    tz = community_tz()
    guard_user = db.session.scalar(db.select(User).where(User.username == "guard"))
    pins = {}
    team_guards = []
    for i, team in enumerate(rules.TEAMS):
        for j in range(3):
            name = "赵师傅" if (i, j) == (0, 0) else _name(rng)
            pin = "1234" if (i, j) == (0, 0) else f"{2000 + 10 * i + j}"
            g = duty.add_guard(name, "guard", team, f"135{rng.randint(0, 10**8 - 1):08d}", pin,
                               guard_user.id if guard_user and (i, j) == (0, 0) else None)
            pins[name] = pin
            team_guards.append(g)
    volunteers = [duty.add_guard(_name(rng), "volunteer", None, "", f"{3000 + k}")
                  for k in range(4)]
    for v in volunteers:
        pins[v.name] = f"{3000 + volunteers.index(v)}"
    east, north = devices["东门"], devices["北门"]
    duty.set_pattern(east.gate, "eight")
    duty.set_pattern(north.gate, "teams", anchor=rules.week_start(now.astimezone(tz).date()))
    monday = rules.week_start(now.astimezone(tz).date())
    staff = team_guards + volunteers
    for week in (monday, monday + timedelta(days=7)):
        for k, shift in enumerate(duty.plan_week(east.gate, week)):
            if not shift.assignments:
                for g in (staff[(2 * k) % len(staff)], staff[(2 * k + 1) % len(staff)]):
                    duty.assign(shift.id, g.id)
        duty.plan_week(north.gate, week)

    # the last shift at 东门 handed over three hours ago; now 赵师傅 is on duty there
    prev = team_guards[4]
    start = now - timedelta(hours=6)
    s, _ = duty.sign_on(prev, east.gate, east, "pin", start)
    duty.sign_off(prev, east.gate, "北侧路灯不亮，已报物业；3号楼 502 快递放在货架，住户明早取。",
                  waiting_upload=0, now=now - timedelta(hours=3))
    duty.sign_on(team_guards[0], east.gate, east, "pin", now - timedelta(hours=3))
    duty.sign_on(team_guards[7], north.gate, north, "pin", now - timedelta(hours=2))

    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = max(1, int((now - today).total_seconds() // 3600))
    kinds = ["turn_away"] * 5 + ["visitor"] * 3 + ["courier"] * 6 + ["vehicle"] * 2 + ["incident"]
    companies = ["顺丰", "京东", "美团", "中通", "饿了么", "邮政"]
    n_events = 0
    for k in range(min(60, 6 + 3 * hours)):
        kind = rng.choice(kinds)
        device = east if rng.random() < 0.65 else north
        at = today + timedelta(minutes=rng.randint(0, hours * 60 - 1))
        fields, note = {}, ""
        if kind == "turn_away":
            fields = {"reason": rng.choice(TURN_AWAY_REASONS)}
            if fields["reason"] == "outside_vehicle":
                fields["plate"] = f"冀F{rng.randint(10000, 99999)}"
            note = rng.choice(["坚持要进去看朋友，值班人员轮流劝说后离开", "无本小区通行证", "外卖员要求进楼，已劝返至货架", ""])
        elif kind == "visitor":
            fields = {"name": _name(rng), "phone": f"13{rng.randint(0, 10**9 - 1):09d}",
                      "host_household": f"{rng.randint(1, len(buildings))}号楼{rng.randint(1, 6)}0{rng.randint(1, 2)}",
                      "purpose": rng.choice(["送药", "照顾老人", "维修水管"]), "direction": "in"}
        elif kind == "courier":
            fields = {"company": rng.choice(companies), "parcels": rng.randint(1, 30),
                      "disinfected": rng.random() < 0.95, "handed_to": rng.choice(["货架", "楼长", "住户本人"])}
        elif kind == "vehicle":
            fields = {"plate": f"京{rng.choice('ABCEFGHJKLMNPQ')}{rng.randint(10000, 99999)}",
                      "driver_phone": f"13{rng.randint(0, 10**9 - 1):09d}",
                      "reason": rng.choice(["送菜", "医疗物资", "垃圾清运"]), "direction": rng.choice(["in", "out"])}
        else:
            fields = {"type": rng.choice(["abuse", "refused_registration", "forced_entry"]),
                      "description": "一男子拒绝扫码并辱骂值班人员，已劝离并报告社区"}
        shift = duty.current_shift(device.gate_id, at.astimezone(timezone.utc))
        on = shift.assignments[0].guard_id if shift and shift.assignments else None
        db.session.add(GateEvent(nonce=uuid.uuid4().hex, kind=kind, gate_id=device.gate_id,
                                 device_id=device.id, guard_id=on, at=at.astimezone(timezone.utc),
                                 received_at=at.astimezone(timezone.utc), note=note, fields=fields))
        n_events += 1

    places = [Place(name=n, address=a, check_every_hours=h) for n, a, h in DEMO_PLACES]
    db.session.add_all(places)
    db.session.flush()
    checker = guard_user.id if guard_user else None
    if checker:
        for i, place in enumerate(places):
            # two compounds overdue, the rest checked within their interval
            ago = timedelta(hours=place.check_every_hours + 2) if i in (1, 4) else \
                timedelta(minutes=rng.randint(20, 60 * place.check_every_hours - 30))
            at = now - ago
            db.session.add(SpotCheck(nonce=uuid.uuid4().hex, place_id=place.id, user_id=checker,
                                     at=at, received_at=at, response={"place": place.name}))
            place.last_check_at = at
    for title, body, audience, value in DEMO_NOTICES:
        db.session.add(Notice(title=title, body=body, audience=audience, audience_value=value,
                              starts_at=now - timedelta(hours=5), ends_at=now + timedelta(days=3)))
    if buildings:
        db.session.add(Notice(title=f"{buildings[0].name}今日停水", body="今日 14:00-16:00 维修管道停水，请提前储水。",
                              audience="building", audience_value=str(buildings[0].id),
                              starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)))
    db.session.flush()
    return {"guards": len(staff), "pins": pins, "events": n_events, "places": len(places)}
