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


def chinese_name(rng: random.Random) -> str:
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


@dataclass(frozen=True)
class Site:
    """What tells one demo community from its neighbours besides its size and seed: its two
    open gates (the first is the main one, couriers' only gate), its guard login (the guard
    on duty at the main gate) and its scattered compounds. The defaults are the
    one-community demo's."""

    gates: tuple[str, str] = ("东门", "北门")
    guard_login: str = "guard"
    guard_name: str = "赵师傅"
    #: its scattered compounds (name, address, check every N hours); None: c1's six
    places: tuple[tuple[str, str, int], ...] | None = None


def build_community(n_passes: int = 900, seed: int = 7, scans: bool = True,
                    site: Site = Site()) -> dict:
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
    set_rule("courier", "07:00-21:00", site.gates[0])
    set_rule("vehicle", "", "", anti_passback=False)
    gates, tokens = {}, {}
    for gate_name in site.gates:
        gates[gate_name], tokens[gate_name] = create_device(gate_name, f"{gate_name}-笔记本1")
    n_scans = _demo_scans(rng, passes, gates, now) if scans else 0
    db.session.flush()
    from .health.demo import build_health  # home quarantine: docs/health.md
    health = build_health(rng, [p for p in people if p.household is not None], now,
                          site.gates[0])
    db.session.flush()
    buildings = db.session.scalars(db.select(Building).order_by(Building.id)).all()
    from .duty.demo import build_duty  # gate duty: docs/gate-duty.md
    duty_info = build_duty(rng, gates, buildings, now, site)
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
        people.append(Person(household=hh, name=chinese_name(rng), phone=f"13{phones[i]:09d}",
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
    """A day at the gates: out in the morning peak, back in the afternoon peak (``devices``:
    gate name -> device, the main gate first)."""
    tz = community_tz()
    main, side = list(devices)[:2]
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    live = [p for p in passes if p.status == PassStatus.ACTIVE]
    rows = []
    for p in rng.sample(live, int(len(live) * 0.55)):
        if p.category == "sanitation":
            out_h, in_h = rng.gauss(4.0, 0.4), rng.gauss(16.5, 0.7)
        else:
            out_h, in_h = rng.gauss(8.5, 0.6), rng.gauss(16.5, 0.7)  # the 8 and 16 o'clock peaks
        gate = main if rng.random() < 0.65 else side
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


def create_demo_users(suffix: str = "", community_id: int | None = None,
                      names: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """The demo's four logins (``office`` or, with ``suffix`` "-c2", ``office-c2``), passwords
    ``<role>-demo``, of ``community_id``; ``names``: role -> display name instead of c1's."""
    out = []
    for login, role, name, password in DEMO_LOGINS:
        username = login + suffix
        if not db.session.scalar(db.select(User).where(User.username == username)):
            u = User(username=username, role=role, display_name=(names or {}).get(role, name))
            if community_id is not None:
                u.community_id = community_id
            u.set_password(password)
            db.session.add(u)
        out.append((username, password, role))
    return out
