"""The scanner's outbox: on disk first, delivered once, rejected scans kept aside.

Delivery is tested against a live service in its own process; "the network
is down" is a port nobody listens on.
"""
from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import pytest

from scanner.client import Link, ServiceClient
from scanner.outbox import AUTH_RETRY, BACKOFF_CAP, Outbox, Sender, backoff

from scanner_helpers import LiveService, free_port, wait_for

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("outbox-service"))
    svc.seed([{"name": "张三丰"}, {"name": "李四"}, {"name": "王五", "status": "suspended"}])
    svc.start()
    yield svc
    svc.stop()


def body(token: str, **extra) -> dict:
    return {"nonce": uuid.uuid4().hex, "token": token, "direction": "in",
            "scanned_at": datetime.now(timezone.utc).isoformat(), **extra}


@contextmanager
def running_sender(outbox, server, token, link=None) -> Iterator[Sender]:
    """A sender thread delivering ``outbox`` to ``server`` while the block runs; stopped after."""
    sender = Sender(outbox, server, token, link or Link(), timeout=5)
    sender.start()
    try:
        yield sender
    finally:
        sender.stop()
        sender.join(5)


def test_a_scan_is_committed_before_anything_is_sent(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    b = body("GPS.k1.1.1.AAAAAAAAAAAAAAAAAAAA", temperature=36.6)
    nonce = box.add(b)
    # Another process looking at the file (a restarted scanner) sees it, without any close().
    con = sqlite3.connect(path)
    assert con.execute("SELECT nonce, state FROM scans").fetchall() == [(nonce, "pending")]
    con.close()
    again = Outbox(path)
    assert again.pending_count() == 1
    assert again.rows()[0].body == b
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_sender_delivers_each_scan_once_and_keeps_the_service_verdict(service, tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    tokens = [p["token"] for p in service.passes]
    nonces = [box.add(body(t)) for t in tokens]
    with running_sender(box, service.url, service.device_token):
        assert wait_for(lambda: box.pending_count() == 0)
    rows = {r.nonce: r for r in box.rows()}
    assert [rows[n].state for n in nonces] == ["delivered"] * 3
    assert [rows[n].response["reason"] for n in nonces] == ["OK", "OK", "SUSPENDED"]

    on_server = [s for s in service.scans() if s["nonce"] in nonces]
    assert sorted(s["nonce"] for s in on_server) == sorted(nonces)
    # Delivering again (a crash between the POST and marking it delivered) adds nothing.
    again = ServiceClient(service.url, service.device_token).post_scan(rows[nonces[0]].body, 5)
    assert again.status == 200 and again.data["scan_id"] == rows[nonces[0]].response["scan_id"]
    assert sum(s["nonce"] == nonces[0] for s in service.scans()) == 1


def test_a_scan_the_service_can_never_accept_is_kept_aside(service, tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    bad = box.add(body(service.passes[0]["token"], direction="sideways"))
    good = box.add(body(service.passes[1]["token"]))
    with running_sender(box, service.url, service.device_token) as sender:
        assert wait_for(lambda: box.pending_count() == 0)
        sender.flush()  # a few more rounds: a rejected scan is never retried
        time.sleep(0.3)
    rows = {r.nonce: r for r in box.rows()}
    assert rows[bad].state == "rejected" and rows[bad].attempts == 1
    assert "HTTP 400" in rows[bad].last_error and "direction" in rows[bad].last_error
    assert rows[good].state == "delivered"  # the bad one did not block the queue
    assert bad not in {s["nonce"] for s in service.scans()}


def test_a_refused_device_token_keeps_the_scan_and_tells_the_guard(service, tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    link = Link()
    nonce = box.add(body(service.passes[0]["token"]))
    with running_sender(box, service.url, "not-the-device-token", link):
        assert wait_for(lambda: link.auth_failed)
    [row] = box.rows()
    assert row.nonce == nonce and row.state == "pending" and "401" in row.last_error
    assert row.next_try > time.time() + AUTH_RETRY - 10  # retried slowly, not hammered


def test_an_unreachable_service_is_retried_with_backoff_and_nothing_is_lost(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    link = Link()
    nonces = [box.add(body("GPS.k1.1.1.AAAAAAAAAAAAAAAAAAAA")) for _ in range(2)]
    with running_sender(box, f"http://127.0.0.1:{free_port()}", "token", link) as sender:
        assert wait_for(lambda: sender.streak >= 2)  # backoff 0.5-1 s, then 1-2 s
    assert link.online is False and link.error
    assert box.pending_count() == 2 and [r.nonce for r in box.rows()] == nonces
    # the queue pauses as a whole: each retry tries whichever scan is due first
    rows = box.rows()
    assert sum(r.attempts for r in rows) >= 2
    assert all(r.last_error for r in rows if r.attempts)


def test_backoff_doubles_with_jitter_up_to_the_cap():
    rng = random.Random(1)
    for attempts in range(1, 12):
        nominal = min(BACKOFF_CAP, 2 ** (attempts - 1))
        delays = [backoff(attempts, rng) for _ in range(50)]
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert max(delays) - min(delays) > nominal / 10  # jitter: gates do not retry in step
    assert backoff(50, rng) <= BACKOFF_CAP


def test_an_outbox_from_before_events_is_upgraded_in_place(service, tmp_path):
    """A gate laptop updated mid-outage keeps its undelivered scans."""
    path = tmp_path / "outbox.sqlite3"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE scans (id INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0,
            last_error TEXT, response TEXT, delivered_at REAL);
    """)
    old = body(service.passes[0]["token"])
    con.execute("INSERT INTO scans(nonce, body, created_at) VALUES (?, ?, ?)",
                (old["nonce"], json.dumps(old), time.time()))
    con.commit()
    con.close()
    box = Outbox(path)
    [row] = box.rows()
    assert (row.kind, row.state, row.body) == ("scan", "pending", old)
    with running_sender(box, service.url, service.device_token):
        assert wait_for(lambda: box.pending_count() == 0)
    assert box.rows()[0].response["scan_id"] > 0
    assert old["nonce"] in {s["nonce"] for s in service.scans()}
