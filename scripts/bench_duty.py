"""How long the gate-duty bulk jobs take on a 7,000-pass community.

Builds the demo community in a temporary SQLite file, then times
``passes links`` (every active person's phone link, CSV) and ``duty sheet``
(a week, two gates), and 200 logbook events through the API with their
nonce, then 200 repeats of them. Run: ``.venv/bin/python scripts/bench_duty.py``.
"""
from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(n_passes: int = 7000) -> None:
    from app import create_app
    from app.demo import build_community
    from app.extensions import db
    from gatepass.tokens import KeyRing

    work = Path(tempfile.mkdtemp(prefix="bench-duty-"))
    KeyRing.create_key(work / "keys", "k1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'b.db'}",
                      "KEYS_DIR": str(work / "keys"), "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        t = time.perf_counter()
        info = build_community(n_passes, scans=False)
        db.session.commit()
        print(f"demo community of {info['passes']} passes in {time.perf_counter() - t:.1f} s")
    runner = app.test_cli_runner()
    t = time.perf_counter()
    r = runner.invoke(args=["passes", "links", "-o", str(work / "links.csv"),
                            "--base-url", "https://pass.example.org"])
    print(f"passes links: {r.output.strip()} in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    r = runner.invoke(args=["duty", "sheet", "--week", datetime.now().date().isoformat(),
                            "-o", str(work / "duty.pdf")])
    print(f"duty sheet: {r.output.strip()} in {time.perf_counter() - t:.2f} s")
    client = app.test_client()
    token = info["tokens"]["东门"]
    bodies = [{"nonce": uuid.uuid4().hex, "kind": "courier", "company": "顺丰", "parcels": 2,
               "at": datetime.now(timezone.utc).isoformat(), "note": ""} for _ in range(200)]
    for label in ("new", "repeated"):
        t = time.perf_counter()
        for b in bodies:
            assert client.post("/api/v1/events", json=b,
                               headers={"Authorization": f"Bearer {token}"}).status_code == 200
        ms = (time.perf_counter() - t) * 1000 / len(bodies)
        print(f"POST /api/v1/events ({label} nonces): {ms:.1f} ms each")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7000)
