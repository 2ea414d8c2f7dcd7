"""What the scanner does with replies a real service never sends (issue 12, probe fixes 3, 4, 6).

A scripted HTTP server on 127.0.0.1 answers each request with the next behaviour in its
script: odd JSON, a redirect, a 404, a reply dripped a byte at a time. The scanner talks to
it over real HTTP, as it would to a captive portal, a proxy or a sick service.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gatepass.tokens import KeyRing, issue_static
from scanner.client import Link, ServiceClient
from scanner.outbox import Outbox, Sender, deliver

from scanner_helpers import ROOT, ScannerProcess, wait_for

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process

RECEIPT = {"scan_id": 1, "reason": "OK", "allowed": True, "message": "通过",
           "holder": {"name": "张*丰"}}


def receipt(n=1, **extra):
    return {**RECEIPT, "scan_id": n, **extra}


class Scripted:
    """Behaviours: ("json", status, obj, headers), ("raw", status, bytes),
    ("drip", where, seconds_per_byte) with where "body" or "headers"."""

    def __init__(self):
        self.script: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        self.snapshot = None  # what GET /api/v1/gate/snapshot answers (None: the script)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                server.seen.append((self.command, self.path))
                if self.command == "GET" and self.path == "/elsewhere":
                    return self._send(405, json.dumps({"message": "GET not allowed"}).encode())
                if self.command == "GET" and server.snapshot is not None:
                    return self._send(200, json.dumps(server.snapshot).encode())
                try:
                    step = server.script.get_nowait()
                except queue.Empty:
                    step = ("json", 200, receipt(len(server.seen)), ())
                kind = step[0]
                if kind == "json":
                    _, status, obj, headers = step
                    return self._send(status, json.dumps(obj).encode(), headers)
                if kind == "raw":
                    return self._send(step[1], step[2])
                if kind == "drip":
                    return self._drip(step[1], step[2])

            def _send(self, status, raw, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _drip(self, where, pause):
                raw = json.dumps(receipt(99)).encode()
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"X-Padding: {'x' * 60}\r\n"
                        f"Content-Length: {len(raw)}\r\n\r\n").encode()
                try:
                    if where == "body":
                        self.wfile.write(head)
                        chunks = raw
                    else:
                        chunks = head + raw
                    for i in range(len(chunks)):
                        self.wfile.write(chunks[i:i + 1])
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:
                    pass
                self.close_connection = True

            do_GET = do_POST = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def then(self, *steps):
        for s in steps:
            self.script.put(s)
        return self

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Scripted()
    yield s
    s.close()


def body() -> dict:
    return {"nonce": uuid.uuid4().hex, "token": "GPS.k1.1.1.AAAAAAAAAAAAAAAAAAAA",
            "direction": "in", "scanned_at": datetime.now(timezone.utc).isoformat()}


# --------------------------------------------------------------------------- fix 3

def test_the_sender_survives_odd_replies_and_a_failing_callback(server, tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    nonces = [box.add(body()) for _ in range(3)]
    server.then(("raw", 200, b"[" * 100_000 + b"]" * 100_000),        # RecursionError to parse
                ("json", 200, receipt(1, holder="张三"), ()),           # holder not an object
                ("json", 200, receipt(2, holder=[1, 2], message={"x": 1}), ()))
    calls = []

    def on_delivered(row, got):
        calls.append(got)
        if len(calls) == 1:
            raise RuntimeError("the screen broke")

    sender = Sender(box, server.url, "token", Link(), timeout=5, on_delivered=on_delivered)
    sender.start()
    try:
        assert wait_for(lambda: box.pending_count() == 0, 30)
        assert sender.is_alive()  # still uploading after all of it
        late = box.add(body())
        assert wait_for(lambda: box.state_of(late) == "delivered")
    finally:
        sender.stop()
        sender.join(5)
    responses = [r.response for r in box.rows() if r.nonce in nonces]
    # a string or list holder is not shown; a message that is not a string is dropped
    assert sorted(r["holder"] is None for r in responses) == [False, True, True]
    assert all(isinstance(r["message"], str) for r in responses)
    assert len(calls) == 4 and all(isinstance(c["holder"], (dict, type(None))) for c in calls)


# --------------------------------------------------------------------------- fix 4

@pytest.mark.parametrize("reply, state, says", [
    (("json", 200, {}, ()), "pending", "no receipt"),
    (("json", 200, {"scan_id": "7", "reason": "OK"}, ()), "pending", "no receipt"),
    (("json", 200, {"scan_id": 7}, ()), "pending", "no receipt"),
    (("json", 302, {}, (("Location", "/elsewhere"),)), "pending", "HTTP 302"),
    (("json", 301, {}, (("Location", "/elsewhere"),)), "pending", "HTTP 301"),
    (("json", 403, {"message": "portal"}, ()), "pending", "HTTP 403"),
    (("json", 404, {"message": "no such path"}, ()), "pending", "HTTP 404"),
    (("json", 405, {"message": "POST only"}, ()), "pending", "HTTP 405"),
    (("json", 503, {}, ()), "pending", "HTTP 503"),
    (("json", 400, {"message": "direction must be in or out"}, ()), "rejected", "direction"),
    (("json", 422, {"message": "bad token"}, ()), "rejected", "bad token"),
    (("json", 200, receipt(3), ()), "delivered", None),
])
def test_only_a_receipt_delivers_and_link_errors_are_retried(server, tmp_path, reply, state,
                                                             says):
    box = Outbox(tmp_path / "outbox.sqlite3")
    nonce = box.add(body())
    server.then(reply)
    [row] = box.due()
    deliver(box, ServiceClient(server.url, "token"), Link(), row, 5)
    [row] = box.rows()
    assert row.state == state, row
    if says:
        assert says in row.last_error
    if state == "pending":
        assert row.next_try > time.time()  # retried later, with backoff
    assert ("GET", "/elsewhere") not in server.seen  # redirects are never followed
    assert box.state_of(nonce) == state


def test_events_are_delivered_only_on_an_event_receipt(server, tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    box.add({"nonce": uuid.uuid4().hex, "kind": "courier", "at": "2026-12-01T04:00:00+08:00",
             "note": ""}, kind="event")
    server.then(("json", 200, receipt(1), ()),  # a scan's receipt is not an event's
                ("json", 200, {"event_id": 12, "kind": "courier"}, ()))
    client = ServiceClient(server.url, "token")
    [row] = box.due()
    deliver(box, client, Link(), row, 5)
    assert box.rows()[0].state == "pending"
    box.release_all()
    [row] = box.due()
    deliver(box, client, Link(), row, 5)
    [row] = box.rows()
    assert row.state == "delivered" and row.response == {"event_id": 12, "kind": "courier"}
    assert [p for _, p in server.seen] == ["/api/v1/events"] * 2


def test_outbox_requeue_puts_rejected_rows_back(server, tmp_path):
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path)
    good, bad = box.add(body()), box.add(body())
    box.add({"nonce": uuid.uuid4().hex, "kind": "incident", "at": "2026-12-01T04:00:00+08:00",
             "note": ""}, kind="event")
    server.then(("json", 200, receipt(1), ()), ("json", 400, {"message": "service bug"}, ()),
                ("json", 400, {"message": "unknown kind"}, ()))
    client = ServiceClient(server.url, "token")
    for row in box.due():
        deliver(box, client, Link(), row, 5)
    assert box.counts() == {"delivered": 1, "rejected": 2}

    def cli(*args):
        r = subprocess.run([sys.executable, "-m", "scanner", "outbox", *args, "--outbox",
                            str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    listed = cli("list")
    assert "scan: pending 0, rejected 1, delivered 1" in listed
    assert "event: pending 0, rejected 1, delivered 0" in listed and "unknown kind" in listed
    assert "requeued 2 rejected row(s)" in cli("requeue")
    assert box.counts() == {"delivered": 1, "pending": 2}
    for row in box.due():  # the service was fixed: the next round delivers them
        deliver(box, client, Link(), row, 5)
    assert box.state_of(bad) == "delivered" and box.state_of(good) == "delivered"
    assert box.counts() == {"delivered": 2, "pending": 1}  # the event wants an event_id


# --------------------------------------------------------------------------- fix 6

@pytest.mark.serial  # timing: run alone (make test)
@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(server, where):
    server.then(("drip", where, 0.1))  # 0.1 s a byte: ~20 s for the whole reply
    started = time.monotonic()
    reply = ServiceClient(server.url, "token").post_scan(body(), 0.8)
    elapsed = time.monotonic() - started
    assert reply.status == 0 and "0.8" in reply.error
    assert elapsed < 3.0, elapsed  # not the 20 s the server would take


@pytest.mark.serial  # timing: run alone (make test)
def test_a_dripping_server_does_not_freeze_the_guards_screen(server, tmp_path):
    KeyRing.create_key(tmp_path / "keys", "k1")
    ring = KeyRing.load(tmp_path / "keys")
    for _ in range(6):
        server.then(("drip", "body", 0.2))
    proc = ScannerProcess(server.url, "token", "-", tmp_path / "gate" / "outbox.sqlite3",
                          tmp_path / "keys", "--drain-timeout", "0", "--timeout", "0.8",
                          stdin=True)
    try:
        assert proc.scan("zz", timeout=60)["type"] == "invalid"  # started and reading
        started = time.monotonic()
        first = proc.scan(issue_static(ring, 1, 1), timeout=10)
        took = time.monotonic() - started
        second = proc.scan(issue_static(ring, 2, 1), timeout=10)
        both = time.monotonic() - started
    finally:
        proc.finish(timeout=30)
    assert (first["allowed"], first["offline"]) == (True, True)
    assert (second["allowed"], second["offline"]) == (True, True)
    assert took < 3.0 and both < 4.0, (took, both)  # the drip would take ~12 s a reply


def test_an_odd_verdict_reply_is_shown_cleaned_and_the_scanner_goes_on(server, tmp_path):
    """The loop's own post gets the same checks: a string holder reaches neither the
    screen (which would crash drawing it) nor the JSON line."""
    KeyRing.create_key(tmp_path / "keys", "k1")
    ring = KeyRing.load(tmp_path / "keys")
    server.snapshot = {"gate": ["东门"], "passes": [1, 2], "retired_kids": "k1", "rules": 7}
    server.then(("json", 200, receipt(5, holder="张三", allowed="yes", gate=["x"]), ()),
                ("json", 200, receipt(6), ()))
    outbox = tmp_path / "gate" / "outbox.sqlite3"
    proc = ScannerProcess(server.url, "token", "-", outbox, tmp_path / "keys", "--timeout", "3",
                          "--save-screens", str(tmp_path / "screens"), stdin=True)
    assert wait_for(outbox.with_name("outbox.snapshot.json").exists)  # an odd snapshot, kept
    try:
        first = proc.scan(issue_static(ring, 1, 1))
        second = proc.scan(issue_static(ring, 2, 1))
    finally:
        assert proc.finish(timeout=30) == 0, proc.errors()
    assert (first["holder"], first["allowed"], first["offline"]) == (None, False, False)
    assert (second["holder"], second["allowed"]) == ({"name": "张*丰"}, True)
    assert len(list((tmp_path / "screens").glob("*.png"))) == 2
    # the odd snapshot on disk does not stop the next start either, offline
    server.close()
    again = ScannerProcess(server.url, "token", "-", outbox, tmp_path / "keys",
                           "--drain-timeout", "0", stdin=True)
    try:
        offline = again.scan(issue_static(ring, 3, 1))
    finally:
        assert again.finish(timeout=30) == 0, again.errors()
    assert (offline["allowed"], offline["offline"]) == (True, True)
