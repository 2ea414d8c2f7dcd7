"""How long the health staff's busiest things take: the quarantine list, a certificate, a poster.

    .venv/bin/python scripts/bench_health.py [--people 500]

Builds a throwaway SQLite community with N people in home quarantine (two
readings a day for up to 14 days), then times the quarantine list page, the
dashboard, one certificate PDF and one poster PDF. Figures go to docs/health.md.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=500)
    args = parser.parse_args()
    from app import create_app
    from app.extensions import db
    from app.models import Building, Household, Person, User
    from app.health.readings import TemperatureReport
    from app.health import certificates, episodes as health, registrations
    from app.services.devices import create_device
    from app.health.pdf import poster
    from gatepass.tokens import KeyRing

    work = Path(tempfile.mkdtemp())
    KeyRing.create_key(work / "keys", "k1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'b.db'}", "KEYS_DIR": str(work / "keys"),
                      "SECRET_KEY": "bench", "SERVER_NAME": "localhost"})
    rng = random.Random(1)
    now = datetime.now(timezone.utc)
    with app.app_context():
        db.create_all()
        device, _ = create_device("东门")
        u = User(username="doc", role="health", display_name="doc")
        u.set_password("bench-pass-1")
        db.session.add(u)
        b = Building(name="1号楼")
        for i in range(args.people):
            p = Person(name=f"测试{i}", phone=f"139{i:08d}", household=Household(building=b, room=str(i)))
            db.session.add(p)
            ep = health.start_episode(p, now - timedelta(days=rng.randint(0, 13), hours=1), now=now)
            for d in range((now - ep.started_at).days + 1):
                for h in (1, 8):
                    db.session.add(TemperatureReport(person=p, episode_id=ep.id, value=36.5,
                                                     taken_at=ep.started_at + timedelta(days=d, hours=h)))
        db.session.commit()
        done = health.open_episodes()[0]
        health.end_episode(done, "ended_early", "bench")
        cert_id = certificates.issue(done, None).id
        db.session.commit()
        gate_url = registrations.poster_url(device.gate)

    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/login", data={"username": "doc", "password": "bench-pass-1"})

    def timed(label, fn, n=5):
        fn()  # warm up
        t0 = time.perf_counter()
        for _ in range(n):
            out = fn()
        ms = (time.perf_counter() - t0) / n * 1000
        print(f"{label:<40} {ms:8.1f} ms" + (f"  ({len(out) / 1024:.0f} KiB)" if isinstance(out, bytes) else ""))

    timed(f"quarantine list, {args.people} people", lambda: client.get("/office/quarantine").data)
    timed("dashboard (health panel)", lambda: client.get("/office/").data)
    with app.app_context():
        from app.health.models import HealthCertificate
        timed("certificate PDF", lambda: certificates.pdf(db.session.get(HealthCertificate, cert_id)))
        timed("poster PDF", lambda: poster("幸福里社区", "东门", gate_url))


if __name__ == "__main__":
    main()
