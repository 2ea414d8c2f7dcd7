"""Communities in one database (issue 18): a community's staff, its gate devices and its
commands never read or write another community's rows; on PostgreSQL row-level security
holds that underneath, for a role that is not a superuser.

Two communities: A (the default, c1, made by ``create_all``) and B (c2), both in the
sub-district 东湖街道, each with a resident, a pass, a gate device and an office login.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Community, Gate, GateDevice, Pass, Person, Scan, User
from app.tenancy import (OutsideScope, Scope, current_community, scope_for_device,
                         scope_for_user, system_scope, use_scope)
from helpers import csrf_token, need

SUBDISTRICT = "东湖街道"


@dataclass
class Side:
    """One community's rows, as the tests need them."""

    id: int
    code: str
    person: int
    pass_id: int
    device_token: str
    office: str  # username; password from make.user


@pytest.fixture
def two(app, make) -> tuple[Side, Side]:
    with app.app_context():
        a = db.session.scalar(select(Community).where(Community.code == "c1"))
        a.subdistrict = SUBDISTRICT
        db.session.add_all([Community(code="c2", name="东湖二社区", subdistrict=SUBDISTRICT),
                            Community(code="sd-1", name=SUBDISTRICT, subdistrict=SUBDISTRICT,
                                      kind="subdistrict")])
        db.session.commit()
        ids = dict(db.session.execute(select(Community.code, Community.id)).all())
    sides = []
    for code, name, building in (("c1", "甲居民", "1号楼"), ("c2", "乙居民", "9号楼")):
        cid = ids[code]
        with use_scope({cid}, write_id=cid):
            person = make.person(name=name, building=building, phone="13900000001")
            pass_id = make.pass_for(person)
            token = make.device("东门")  # the same gate name in both: unique per community
            make.user(f"office-{code}", "office")
        sides.append(Side(cid, code, person, pass_id, token, f"office-{code}"))
    return sides[0], sides[1]


def _login(client, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": "pw-" + "x" * 8,
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302


def _scan(client, device_token: str, token: str, direction: str = "in"):
    body = {"nonce": uuid.uuid4().hex, "token": token, "direction": direction,
            "scanned_at": datetime.now(timezone.utc).isoformat()}
    return client.post("/api/v1/scans", json=body,
                       headers={"Authorization": f"Bearer {device_token}"})


@pytest.mark.both_databases
def test_staff_of_one_community_see_only_its_rows_on_every_page_type(app, client, two):
    a, b = two
    _login(client, a.office)
    for url, mine, theirs in (("/office/people", "甲居民", "乙居民"),  # lists
                              ("/office/passes", "甲居民", "乙居民"),
                              ("/office/households", "1号楼", "9号楼")):
        page = client.get(url).get_data(as_text=True)
        assert mine in page and theirs not in page, url
    assert client.get(f"/office/people/{a.person}").status_code == 200  # detail
    assert client.get(f"/office/people/{b.person}").status_code == 404
    assert client.get(f"/office/passes/{b.pass_id}").status_code == 404
    assert client.get(f"/office/passes/{b.pass_id}/qr.png").status_code == 404
    token = csrf_token(client, f"/office/people/{a.person}")
    r = client.post(f"/office/passes/{b.pass_id}/suspend", data={"csrf_token": token})  # edit
    assert r.status_code == 404
    r = client.post(f"/office/people/{b.person}/issue", data={"csrf_token": token})
    assert r.status_code == 404
    roster = client.get("/office/roster/export.csv").get_data(as_text=True)  # export
    assert "甲居民" in roster and "乙居民" not in roster
    with app.app_context(), system_scope():
        assert db.session.get(Pass, b.pass_id).status == "active"


@pytest.mark.both_databases
def test_a_gate_device_reads_and_writes_only_its_community(app, client, make, two):
    a, b = two
    assert _scan(client, a.device_token, make.token(a.pass_id)).get_json()["allowed"]
    r = _scan(client, a.device_token, make.token(b.pass_id)).get_json()
    assert not r["allowed"] and r["reason"] in ("UNKNOWN_PASS", "OTHER_COMMUNITY")
    snap = client.get("/api/v1/gate/snapshot",
                      headers={"Authorization": f"Bearer {a.device_token}"}).get_json()
    assert str(a.pass_id) in snap["passes"] and str(b.pass_id) not in snap["passes"]
    with app.app_context(), system_scope():
        by_community = dict(db.session.execute(select(Scan.community_id, db.func.count())
                                               .group_by(Scan.community_id)).all())
        assert by_community == {a.id: 2}  # both scans logged at A's gate, none in B
        b_pass = db.session.get(Pass, b.pass_id)
        assert b_pass.inside is None and b_pass.last_scan_at is None  # B's presence untouched


@pytest.mark.both_databases
def test_writes_outside_the_scope_are_refused_and_new_rows_get_the_scope(app, two):
    a, b = two
    with app.app_context(), use_scope({a.id}, write_id=a.id):
        assert current_community().code == "c1"
        assert db.session.get(Person, b.person) is None
        assert db.session.execute(db.update(Pass).values(serial=Pass.serial + 5)).rowcount == 1
        db.session.add(Person(name="丙", community_id=b.id))
        with pytest.raises(OutsideScope):
            db.session.flush()
        db.session.rollback()
        db.session.add(Person(name="丁"))
        db.session.commit()
    with app.app_context(), system_scope():
        assert db.session.get(Pass, b.pass_id).serial == 1
        assert db.session.scalar(select(Person.community_id).where(Person.name == "丁")) == a.id
        with pytest.raises(OutsideScope):  # several communities, none chosen
            db.session.add(Person(name="戊"))
            db.session.flush()
        db.session.rollback()


def test_commands_need_a_community_once_there_are_several(app, runner, two):
    r = runner.invoke(args=["devices", "create", "--gate", "北门"])
    assert r.exit_code != 0 and "--community" in r.output
    r = runner.invoke(args=["devices", "create", "--gate", "北门", "--community", "c9"])
    assert r.exit_code != 0 and "c9" in r.output
    r = runner.invoke(args=["devices", "create", "--gate", "北门", "--community", "c2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["users", "create", "zhang", "--role", "district",
                            "--subdistrict", SUBDISTRICT], input="s3cret-pw\ns3cret-pw\n")
    assert r.exit_code == 0, r.output
    with app.app_context():
        gate = db.session.scalar(select(Gate).where(Gate.name == "北门"))
        assert gate.community_id == two[1].id
        zhang = db.session.scalar(select(User).where(User.username == "zhang"))
        assert zhang.community_id is None and zhang.subdistrict == SUBDISTRICT


def test_who_sees_which_communities(app, two):
    a, b = two
    with app.app_context():
        pseudo = db.session.scalar(select(Community.id).where(Community.kind == "subdistrict"))
        office = db.session.scalar(select(User).where(User.username == a.office))
        assert scope_for_user(office) == Scope(frozenset({a.id}), a.id)
        office.also_serves = [db.session.get(Community, b.id)]  # a guard at two checkpoints
        assert scope_for_user(office).community_ids == {a.id, b.id}
        district = User(username="jd", role="district", subdistrict=SUBDISTRICT, password_hash="")
        assert scope_for_user(district) == Scope(frozenset({a.id, b.id, pseudo}), pseudo)
        with system_scope():
            device = db.session.scalar(select(GateDevice).where(GateDevice.community_id == b.id))
            assert scope_for_device(device) == Scope(frozenset({b.id, pseudo}), b.id)


def test_a_public_link_narrows_the_page_to_its_community(app, client, two):
    """The resident's link of a B pass works (found in every community), and the page then
    reads B only: B's notice is on it, A's is not."""
    from app.duty.models import Notice
    from app.services import issuing
    a, b = two
    for side, title in ((a, "甲社区停水通知"), (b, "乙社区核酸通知")):
        with app.app_context(), use_scope({side.id}, write_id=side.id):
            db.session.add(Notice(title=title, body="", audience="everyone"))
            db.session.commit()
    with app.app_context(), system_scope():
        link = issuing.resident_link_token(db.session.get(Pass, b.pass_id))
    page = client.get(f"/p/{link}").get_data(as_text=True)
    assert "乙社区核酸通知" in page and "甲社区停水通知" not in page


# -- PostgreSQL: row-level security underneath ------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_row_level_security_binds_the_service_role_on_a_raw_connection(app, two):
    a, b = two
    with app.app_context():
        with db.engine.connect() as conn:
            role = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles "
                                     "WHERE rolname = current_user")).one()
            need(not role.rolsuper and not role.rolbypassrls,
                 "the test role is not a superuser (scripts/ensure-postgres.sh)")
            forced = conn.execute(text(
                "SELECT bool_and(relforcerowsecurity) AND bool_and(pg_get_userbyid(relowner) = "
                "current_user) FROM pg_class WHERE relname IN ('people', 'passes', 'scans')")).scalar()
            assert forced  # FORCE: the owner, which the service connects as, is bound too
            assert conn.execute(text("SELECT count(*) FROM people")).scalar() == 0  # unscoped
            conn.execute(text("SELECT set_config('app.community_ids', :ids, true)"),
                         {"ids": str(a.id)})
            names = conn.execute(text("SELECT name FROM people")).scalars().all()
            assert names == ["甲居民"]
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(text("INSERT INTO buildings (community_id, name) VALUES (:b, 'x')"),
                             {"b": b.id})
