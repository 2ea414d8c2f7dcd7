"""``flask --app app demo --communities N``: one sub-district of believable communities, the
logins of the contract, each community with its own data, and its staff seeing only it."""
import re

import pytest

from app.demo_subdistrict import plans
from app.extensions import db
from app.models import Gate, Pass, Person, User
from app.models.communities import Community
from helpers import csrf_token

LOGINS = ["admin", "office", "health", "guard", "admin-c2", "office-c2", "health-c2",
          "guard-c2", "office-c3", "district"]


@pytest.fixture
def demo3(app, runner):
    r = runner.invoke(args=["demo", "--communities", "3", "--passes", "60", "--no-scans"])
    assert r.exit_code == 0, r.output
    return r.output


def _per_community(app, model) -> dict[str, int]:
    from app.tenancy import system_scope
    with app.app_context(), system_scope():
        return dict(db.session.execute(
            db.select(Community.code, db.func.count(model.id))
            .join(model, model.community_id == Community.id).group_by(Community.code)).all())


def _log_in(app, username: str):
    client = app.test_client()
    password = ("district" if username == "district" else username.split("-")[0]) + "-demo"
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302, (username, r.status_code)
    return client


@pytest.mark.both_databases
def test_three_communities_each_with_its_own_data(app, demo3):
    assert "sub-district login: district / district-demo" in demo3
    for code in ("c1", "c2", "c3"):
        assert f"== {code} " in demo3
    people, passes = _per_community(app, Person), _per_community(app, Pass)
    assert set(people) == {"c1", "c2", "c3"} and len(set(passes.values())) == 3  # sizes vary
    assert passes == {p.code: p.passes for p in plans(3, 60, "")}
    from app.tenancy import system_scope
    with app.app_context(), system_scope():
        gates = db.session.execute(db.select(Community.code, Gate.name)
                                   .join(Gate, Gate.community_id == Community.id)).all()
        district = db.session.scalar(db.select(User).where(User.username == "district"))
        c1 = db.session.scalar(db.select(Community).where(Community.code == "c1"))
        assert (district.role, district.subdistrict, c1.subdistrict) == \
            ("district", "清河街道", "清河街道")
    named = {code: sorted(n for c, n in gates if c == code) for code in ("c1", "c2", "c3")}
    assert named == {"c1": sorted(["东门", "北门"]), "c2": sorted(["南门", "西门"]),
                     "c3": sorted(["正门", "后门"])}
    for username in LOGINS:
        _log_in(app, username)


@pytest.mark.both_databases
def test_office_c2_sees_only_c2(app, demo3):
    from app.tenancy import system_scope
    with app.app_context(), system_scope():
        def names(code):
            return set(db.session.scalars(db.select(Person.name).join(
                Community, Person.community_id == Community.id).where(Community.code == code)))
        c1_only, c2_names = names("c1") - names("c2"), names("c2")
    client = _log_in(app, "office-c2")
    html = client.get("/office/people").get_data(as_text=True)
    shown = set(re.findall(r"[\u4e00-\u9fff]{2,4}", html))
    assert shown & c2_names, "c2's people are listed"
    assert not (shown & c1_only), sorted(shown & c1_only)[:5]
    # and c1's office sees its own
    html = _log_in(app, "office").get("/office/people").get_data(as_text=True)
    assert set(re.findall(r"[\u4e00-\u9fff]{2,4}", html)) & c1_only


def test_without_communities_one_community_as_today(app, runner):
    r = runner.invoke(args=["demo", "--passes", "40", "--no-scans"])
    assert r.exit_code == 0, r.output
    assert "district" not in r.output and r.output.strip().splitlines()[-1].startswith("gd_")
    assert [line.split()[0] for line in
            runner.invoke(args=["communities", "list"]).output.splitlines()] == ["c1"]


def test_plans_vary_and_repeat():
    """Names, sizes and gates differ between neighbours; the same N gives the same plans."""
    chosen = plans(12, 900, "幸福里社区")
    assert chosen == plans(12, 900, "幸福里社区")
    assert len({p.name for p in chosen}) == 12 and len({p.seed for p in chosen}) == 12
    assert len({p.passes for p in chosen}) > 5 and len({p.site.gates for p in chosen}) > 5
    assert [p.site.guard_login for p in chosen[:3]] == ["guard", "guard-c2", "guard-c3"]
