"""Operator contracts of a sub-district (issue 18 §6): ``communities create|list``,
``--community CODE`` on every command that acts on one community (optional with one,
required with a clear error with several), ``users create --role district``."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Gate, GateDevice, Person, User
from app.models.communities import Community
from helpers import csrf_token

both = pytest.mark.both_databases


def _code_of(app, model, **where) -> set[str]:
    """Codes of the communities the rows of ``model`` matching ``where`` belong to."""
    from app.tenancy import system_scope
    with app.app_context(), system_scope():
        stmt = db.select(Community.code).join(model, model.community_id == Community.id) \
            .where(*[getattr(model, k) == v for k, v in where.items()])
        return set(db.session.scalars(stmt))


@pytest.fixture
def two(runner):
    r = runner.invoke(args=["communities", "create", "c2", "--name", "安宁里社区",
                            "--subdistrict", "清河街道"])
    assert r.exit_code == 0, r.output
    return runner


@both
def test_create_and_list(app, two):
    lines = two.invoke(args=["communities", "list"]).output.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [["c1", app.config["COMMUNITY_NAME"]],
                                                   ["c2", "安宁里社区"]]
    # the sub-district's own row exists, but is not a community to list
    with app.app_context():
        kinds = dict(db.session.execute(db.select(Community.code, Community.kind)).all())
    assert sorted(kinds.values()).count("subdistrict") == 1


@both
@pytest.mark.parametrize("args, says", [
    (["communities", "create", "c2", "--name", "again"], "exists"),
    (["communities", "create", "C 3", "--name", "x"], "lower-case"),
    (["communities", "create", "sd-9", "--name", "x"], "sd-"),
])
def test_create_refuses(two, args, says):
    r = two.invoke(args=args)
    assert r.exit_code != 0 and says in r.output


def _one_community_commands(tmp_path) -> list[list[str]]:
    roster = tmp_path / "r.csv"
    roster.write_text("楼栋,单元,房号,姓名,手机,类别\n1号楼,1单元,101,张三,13900000001,resident\n",
                      encoding="utf-8")
    return [["devices", "create", "--gate", "南门"],
            ["devices", "enroll", "--gate", "南门", "-o", str(tmp_path / "s.png")],
            ["passes", "print", "--all", "-o", str(tmp_path / "p.pdf")],
            ["passes", "links", "-o", str(tmp_path / "l.csv")],
            ["roster", "import", str(roster)],
            ["roster", "export", str(tmp_path / "r.xlsx")],
            ["scans", "export", "-o", str(tmp_path / "s.csv")],
            ["users", "create", "wang", "--role", "office", "--password", "pw-12345678"],
            ["health", "poster", "--gate", "南门", "-o", str(tmp_path / "poster.pdf")],
            ["duty", "guard", "老李", "--pin", "4321"],
            ["duty", "plan"],
            ["rules", "set", "sanitation", "--hours", "03:00-07:00"]]


@both
def test_several_communities_need_community(app, two, tmp_path):
    for args in _one_community_commands(tmp_path):
        r = two.invoke(args=args)
        assert r.exit_code != 0, (args, r.output)
        assert "--community" in r.output and "c1" in r.output and "c2" in r.output, (args, r.output)


@both
def test_one_community_needs_no_option(app, runner, tmp_path):
    for args in _one_community_commands(tmp_path):
        if args[:2] == ["passes", "print"]:
            continue  # nothing to print yet: its own tests cover it
        r = runner.invoke(args=args)
        assert r.exit_code == 0, (args, r.output)


@both
def test_devices_and_gates_land_in_the_community_named(app, two, client):
    r = two.invoke(args=["devices", "create", "--gate", "南门", "--community", "c2"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    ping = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    assert ping.status_code == 200
    # the same gate name in c1 is another gate (gate names are unique per community)
    r = two.invoke(args=["devices", "create", "--gate", "南门", "--community", "c1"])
    assert r.exit_code == 0, r.output
    assert _code_of(app, Gate, name="南门") == {"c1", "c2"}
    assert _code_of(app, GateDevice) == {"c1", "c2"}
    r = two.invoke(args=["devices", "create", "--gate", "南门", "--community", "c9"])
    assert r.exit_code != 0 and "c9" in r.output


@both
def test_roster_goes_into_and_out_of_one_community(app, two, tmp_path):
    src = tmp_path / "r.csv"
    src.write_text("楼栋,单元,房号,姓名,手机,类别\n1号楼,1单元,101,张三,13900000001,resident\n",
                   encoding="utf-8")
    r = two.invoke(args=["roster", "import", str(src), "--community", "c2"])
    assert r.exit_code == 0, r.output
    assert _code_of(app, Person, name="张三") == {"c2"}
    for code, has in (("c1", False), ("c2", True)):
        out = tmp_path / f"{code}.csv"
        assert two.invoke(args=["roster", "export", str(out), "--community", code]).exit_code == 0
        assert ("张三" in out.read_text(encoding="utf-8-sig")) is has


@both
def test_users_create_in_a_community_and_for_the_subdistrict(app, two, client):
    r = two.invoke(args=["users", "create", "office-x", "--role", "office", "--community", "c2"],
                   input="s3cret-pw\ns3cret-pw\n")
    assert r.exit_code == 0, r.output
    r = two.invoke(args=["users", "create", "sun", "--role", "district",
                         "--subdistrict", "清河街道"], input="s3cret-pw\ns3cret-pw\n")
    assert r.exit_code == 0, r.output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(db.select(User))}
        c2 = db.session.scalar(db.select(Community.id).where(Community.code == "c2"))
    assert users["office-x"].community_id == c2
    assert (users["sun"].role, users["sun"].subdistrict, users["sun"].community_id) == \
        ("district", "清河街道", None)
    r = client.post("/login", data={"username": "sun", "password": "s3cret-pw",
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    # a district user needs its sub-district, and a community user no sub-district
    r = two.invoke(args=["users", "create", "li", "--role", "district"],
                   input="s3cret-pw\ns3cret-pw\n")
    assert r.exit_code != 0 and "--subdistrict" in r.output


def test_the_real_flask_command(tmp_path):
    """As an operator types it: create, then list (code first, then name)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x"}
    root = Path(__file__).resolve().parents[1]
    flask = [sys.executable, "-m", "flask", "--app", "app"]

    def run(*args):
        r = subprocess.run(flask + list(args), env=env, cwd=root, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout

    run("init-db")
    run("communities", "create", "c2", "--name", "毛纺路小区", "--subdistrict", "清河街道")
    run("communities", "create", "c3", "--name", "朱房北区", "--subdistrict", "清河街道")
    listed = [line.split()[:2] for line in run("communities", "list").splitlines()]
    assert listed[1:] == [["c2", "毛纺路小区"], ["c3", "朱房北区"]] and listed[0][0] == "c1"


@both
def test_posters_and_cards_carry_their_communitys_name(app, two, tmp_path):
    from helpers import pdf_text
    poster = tmp_path / "poster.pdf"
    r = two.invoke(args=["health", "poster", "--gate", "南门", "--community", "c2", "-o", str(poster)])
    assert r.exit_code == 0, r.output
    src = tmp_path / "r.csv"
    src.write_text("楼栋,单元,房号,姓名,手机,类别\n1号楼,1单元,101,张三,13900000001,resident\n",
                   encoding="utf-8")
    assert two.invoke(args=["roster", "import", str(src), "--community", "c2"]).exit_code == 0
    cards = tmp_path / "cards.pdf"
    r = two.invoke(args=["passes", "print", "--all", "--community", "c2", "-o", str(cards)])
    assert r.exit_code == 0, r.output
    for pdf in (poster, cards):
        text = pdf_text(pdf)
        assert "安宁里社区" in text and app.config["COMMUNITY_NAME"] not in text
    r = two.invoke(args=["passes", "print", "--all", "--community", "c1", "-o", str(cards)])
    assert r.exit_code != 0  # c1 has no pass: c2's are not printed for it
