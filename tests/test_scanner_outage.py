"""What the scanner does when the service answers late or not at all (issue 15).

The log must say what the guard was shown: a verdict that arrives after the scanner's wait
is reposted with the offline verdict the guard already saw. After an outage of the service
(its database gone: every post answered 5xx) the status line says 服务器异常, not 在线,
and the first success releases the whole backlog at once. Real service, real HTTP.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import datetime, timezone

import pytest

from gatepass.wire import SCANS_PATH
from scanner.client import Link
from scanner.outbox import Outbox, Sender
from scanner.screen import ScreenState, link_label

from scanner_helpers import GateLink, LiveService, ScannerProcess, copy_keys, wait_for

pytestmark = pytest.mark.other_process  # a live service keeps the real clock


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("outage-service"))
    svc.seed([{"name": "张三丰"}, {"name": "李四"}, {"name": "王五"}, {"name": "赵六"},
              {"name": "钱七", "status": "revoked"}])
    svc.gate_keys = copy_keys(svc, svc.root / "gate-keys")
    svc.start()
    yield svc
    svc.stop()


def scan_body(token: str) -> dict:
    return {"nonce": uuid.uuid4().hex, "token": token, "direction": "in",
            "scanned_at": datetime.now(timezone.utc).isoformat()}


def test_a_late_verdict_is_reposted_with_the_offline_verdict_the_guard_saw(service, tmp_path):
    """The service answers after the scanner's wait: the guard sees the offline verdict, the
    outbox row records it at once, and the nonce is posted again carrying it."""
    with GateLink(service.url) as link:
        proc = ScannerProcess(link.url, service.device_token, "-", tmp_path / "outbox.sqlite3",
                              service.gate_keys, "--timeout", "0.4", stdin=True)
        try:
            snapshot = tmp_path / "outbox.snapshot.json"
            assert wait_for(snapshot.exists, 20)  # the first snapshot poll is in: REVOKED known
            link.reply_delay = 1.2  # from now on the answers come after the 0.4 s wait
            shown = proc.scan(service.passes[4]["token"])  # revoked: the offline verdict says so
            assert shown["offline"] is True and shown["reason"] == "REVOKED"
            nonce = shown["nonce"]

            def posts():
                return [r["body"] for r in link.posts(SCANS_PATH)
                        if (r["body"] or {}).get("nonce") == nonce]
            assert wait_for(lambda: len(posts()) >= 2, 20), posts()
            assert proc.finish() == 0
        finally:
            if proc.proc.poll() is None:
                proc.kill()
    first, *again = posts()
    assert "offline_reason" not in first  # on the wire before the guard saw anything
    assert again and all(b["offline_reason"] == "REVOKED" for b in again)
    rows = Outbox(tmp_path / "outbox.sqlite3").rows()
    assert [(r.nonce, r.state, r.body.get("offline_reason")) for r in rows] == \
        [(nonce, "delivered", "REVOKED")]
    assert [s["nonce"] for s in service.scans()].count(nonce) == 1


@pytest.mark.serial  # timing: run alone (make test)
def test_after_a_server_outage_the_first_success_releases_the_whole_backlog(service,
                                                                          tmp_path):
    """The database is gone (every post: 500): the rows back off one by one and the status
    line says 服务器异常; the database back, the first delivered row takes the rest along."""
    db = sqlite3.connect(service.db_path, timeout=10)
    box, link = Outbox(tmp_path / "outbox.sqlite3"), Link()
    sender = Sender(box, service.url, service.device_token, link, timeout=5)
    try:
        db.execute("ALTER TABLE scans RENAME TO scans_away")  # the service's database fails
        db.commit()
        backlog = [box.add(scan_body(service.passes[i]["token"])) for i in range(3)]
        sender.start()
        # each row waits out its own doubling delay: at least 3 s ahead for every one of them
        assert wait_for(lambda: min(r.next_try for r in box.rows("pending")) > time.time() + 3
                        and len(box.rows("pending")) == 3, 30), (box.rows(), link.error)
        state = ScreenState(online=link.online, server_error=link.server_trouble)
        assert link_label(state)[0] == "服务器异常"

        db.execute("ALTER TABLE scans_away RENAME TO scans")  # the database is back
        db.commit()
        started = time.monotonic()
        box.add(scan_body(service.passes[3]["token"]))  # the next person at the gate
        assert wait_for(lambda: box.pending_count() == 0, 2.5), box.rows("pending")
        assert time.monotonic() - started < 2.5
        state = ScreenState(online=link.online, server_error=link.server_trouble)
        assert link_label(state)[0] == "在线"
    finally:
        sender.stop()
        sender.join(5)
        db.close()
    logged = [s["nonce"] for s in service.scans()]
    assert all(logged.count(n) == 1 for n in backlog)
