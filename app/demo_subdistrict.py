"""``flask --app app demo --communities N``: a sub-district of N believable communities.

c1 is the one-community demo itself (same seed, gates, logins), and the sub-district's
login ``district`` sees it beside its neighbours. c2... differ the way real neighbours
do: another name, another size (from about half to one and a half of c1), other gate
names, their own guards, quarantines and duty, each from its own seed, so every run
builds the same sub-district. Their logins carry the code: ``office-c2`` /
``office-demo``. Every community's rows are written inside its own scope, as a request
of its staff would write them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


from gatepass.roles import Role
from gatepass.tokens import KeyRing

from .demo import SURNAMES, Site, build_community, create_demo_users
from .extensions import db
from .models import User

SUBDISTRICT = "清河街道"
DISTRICT_LOGIN = ("district", "district-demo", "清河街道 孙科长")
#: c2, c3...: name, gates (main first), size relative to c1
NEIGHBOURS = [("安宁里社区", ("南门", "西门"), 0.7), ("毛纺路小区", ("正门", "后门"), 1.3),
              ("朱房北区", ("1号门", "2号门"), 0.55), ("铁路宿舍小区", ("东大门", "西小门"), 1.1),
              ("学府花园", ("南门", "北门"), 0.85), ("清缘里", ("东门", "南门"), 0.65),
              ("当代城市家园", ("西门", "北门"), 1.5), ("小营西路小区", ("北门", "东门"), 0.9)]
#: scattered compounds (散居院落) the neighbours' guards check: two to six each
PLACE_POOL = [("育新里2号院", "育新里2号", 4), ("西三旗南平房", "西三旗南路", 8),
              ("建材城东院", "建材城东路9号", 6), ("电力宿舍", "安宁庄路3号", 4),
              ("林业大学家属院", "清华东路35号", 6), ("永泰园小院", "永泰园1号", 4),
              ("小营平房区", "小营西路东", 8), ("后屯北院", "后屯路17号", 6),
              ("马坊村东院", "马坊村东", 8), ("地质宿舍", "学院路29号", 4),
              ("宝盛里3号院", "宝盛里3号", 4), ("北沙滩平房", "北沙滩路", 8)]
C1_SEED = 7


@dataclass(frozen=True)
class Plan:
    """One community of the demo sub-district: everything that tells it apart."""

    code: str
    name: str
    site: Site
    passes: int
    seed: int
    suffix: str  # of its logins: "" for c1, "-c2" for c2


def plans(n: int, c1_passes: int, c1_name: str) -> list[Plan]:
    """c1 as the one-community demo, then the neighbours (their names repeat with a second
    phase, 二期, beyond the list)."""
    out = [Plan("c1", c1_name, Site(), c1_passes, C1_SEED, "")]
    for k in range(2, n + 1):
        name, gates, factor = NEIGHBOURS[(k - 2) % len(NEIGHBOURS)]
        if k - 2 >= len(NEIGHBOURS):
            name += f"{'二三四五六七八九'[min((k - 2) // len(NEIGHBOURS) - 1, 7)]}期"
        rng = random.Random(C1_SEED + 101 * k)  # the staff's names, apart from the data's seed
        surname = rng.choice(SURNAMES)
        first, count = (3 * k) % len(PLACE_POOL), 2 + k % 5
        places = tuple((PLACE_POOL * 2)[first:first + count])
        out.append(Plan(f"c{k}", name, Site(gates, f"guard-c{k}", f"{surname}师傅", places),
                        max(10, round(c1_passes * factor)), C1_SEED + 101 * k, f"-c{k}"))
    return out


def staff_names(plan: Plan) -> dict[str, str] | None:
    """Display names of a neighbour's logins (c1 keeps the one-community demo's)."""
    if not plan.suffix:
        return None
    rng = random.Random(plan.seed)
    office, doctor = rng.choice(SURNAMES), rng.choice(SURNAMES)
    return {Role.ADMIN: f"管理员（{plan.name}）", Role.OFFICE: f"居委会 {office}主任",
            Role.HEALTH: f"社区医生 {doctor}大夫", Role.GUARD: f"门岗 {plan.site.guard_name}"}


def signing_key(community, first: bool) -> str | None:
    """Make sure ``community`` has an active signing key; the new key id, if one was made.

    Through the key service's own ring directories (the first community's ring is KEYS_DIR
    itself, another's KEYS_DIR/<code>/) and its kid allocation, which skips every id of
    every ring: no two rings ever share a key id."""
    from .services import keys as key_service
    key_service.forget_owners()  # the communities were just made
    directory = key_service.ring_dir(community)
    if any(k.active for k in KeyRing.load(directory)):
        return None
    with key_service.rings_locked():
        return KeyRing.create_key(directory, taken=key_service.all_kids()).kid


def build_subdistrict(n: int, c1_passes: int, scans: bool = True) -> list[dict]:
    """Communities c1...cN of one sub-district, each built in its own scope, and the
    district login; returns, per community, what the demo command prints."""
    from .services.communities import create_community, subdistrict_row
    from .tenancy import community_by_code, default_community, system_scope, use_scope
    with system_scope():
        first = default_community()
        first.subdistrict = first.subdistrict or SUBDISTRICT
        subdistrict_row(first.subdistrict)
        chosen = plans(n, c1_passes, first.name)
        rows = [first] + [community_by_code(p.code)  # an empty one made before: kept
                          or create_community(p.code, p.name, first.subdistrict)
                          for p in chosen[1:]]
        db.session.flush()
        _district_user(first.subdistrict)
    infos = []
    for plan, community in zip(chosen, rows):
        with use_scope(frozenset({community.id}), write_id=community.id):
            kid = signing_key(community, community is first)
            logins = create_demo_users(plan.suffix, community.id, staff_names(plan))
            info = build_community(plan.passes, plan.seed, scans, plan.site)
            db.session.flush()
        infos.append({**info, "code": community.code, "name": community.name,
                      "logins": logins, "kid": kid, "gates": plan.site.gates,
                      "guard_name": plan.site.guard_name})
    return infos


def _district_user(subdistrict: str) -> None:
    username, password, name = DISTRICT_LOGIN
    if db.session.scalar(db.select(User).where(User.username == username)) is None:
        user = User(username=username, role=Role.DISTRICT, display_name=name)
        user.subdistrict = subdistrict
        user.set_password(password)
        db.session.add(user)
