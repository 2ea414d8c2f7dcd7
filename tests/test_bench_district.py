"""``scripts/district_data.py``, the generator behind ``make bench-district``, on a small
sub-district: every community alike, its rows its own, and usable by the service."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from helpers import login

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import district_data  # noqa: E402

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def test_a_generated_sub_district_is_alike_per_community_and_usable(app, client, make):
    login(client, make, "office")  # c1's office: the only community so far
    with app.app_context():
        took = district_data.generate(db.engine, district_data.Size(3, 40), log=lambda *_a: None)
        assert took > 0
        per = {}
        for table in ("passes", "people", "vehicles", "gates", "scans"):
            per[table] = db.session.execute(text(
                f"select count(*) from {table} group by community_id order by community_id")
            ).scalars().all()
        assert per["passes"] == [district_data.PASSES] * 3
        assert per["people"] == [district_data.PEOPLE] * 3
        assert per["gates"] == [2] * 3 and per["scans"] == [40] * 3
        # a scan names its own community's pass and gate, never another's
        crossed = db.session.execute(text(
            "select count(*) from scans s join passes p on p.id = s.pass_id "
            "join gates g on g.id = s.gate_id where p.community_id <> s.community_id "
            "or g.community_id <> s.community_id")).scalar()
        assert crossed == 0
        db.session.commit()
    assert client.get("/api/v1/ping",
                      headers={"Authorization": "Bearer bench-device-1"}).status_code == 200
    html = client.get("/office/passes").get_data(as_text=True)
    assert re.search(rf"（\S+ {district_data.PASSES}）", html)  # c1's passes, not all 15,000
