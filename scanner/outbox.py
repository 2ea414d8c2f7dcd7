"""The scans a gate has not yet delivered, on disk, and the thread that delivers them.

A scan is committed to SQLite (WAL, ``synchronous=FULL``) before the guard
sees its verdict, so pulling the plug, SIGKILL or a dead network loses
nothing: the next start sends what is left. Delivery is at-least-once; the
service's unique nonce turns it into exactly once.
"""
from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import requests

from gatepass.wire import RETRY_STATUSES, SCANS_PATH

#: Backoff after failed deliveries: 1 s, 2 s, 4 s ... capped, with jitter so a
#: dozen gates coming back after an outage do not all knock at once.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
#: A refused device token is not fixed by hammering: retry slowly.
AUTH_RETRY = 60.0


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` failures: exponential, capped, 50-100 % jitter."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return delay * (0.5 + 0.5 * (rng or random).random())


# --------------------------------------------------------------------------- service

class Link:
    """What the gate knows about its connection, for the guard's status line."""

    def __init__(self):
        self.online: Optional[bool] = None  # None: not tried yet
        self.last_ok = 0.0
        self.last_fail = 0.0
        self.auth_failed = False
        self.error = ""
        self.on_up: list[Callable[[], None]] = []  # called when the service answers again

    def ok(self):
        was_down = self.online is False
        self.online, self.last_ok, self.auth_failed, self.error = True, time.monotonic(), False, ""
        if was_down:
            for callback in list(self.on_up):
                callback()

    def fail(self, error: str, auth: bool = False):
        self.online, self.last_fail, self.error = False, time.monotonic(), error
        self.auth_failed = auth

    def recently_down(self, within: float) -> bool:
        """Down at the last try, less than ``within`` seconds ago: don't make the queue wait."""
        return self.online is False and time.monotonic() - self.last_fail < within


@dataclass
class Reply:
    status: int  # 0: no answer (network down, timeout)
    data: Optional[dict] = None
    error: str = ""


class ServiceClient:
    """The gate API. One per thread: a requests.Session is not thread-safe."""

    def __init__(self, server: str, device_token: str):
        self.server = server.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {device_token}"
        self.session.headers["User-Agent"] = "gatepass-scanner"

    def post_scan(self, body: dict, timeout: float) -> Reply:
        try:
            r = self.session.post(f"{self.server}{SCANS_PATH}", json=body,
                                  timeout=(min(timeout, 3.05), timeout))
        except requests.RequestException as exc:
            return Reply(0, error=type(exc).__name__)
        try:
            data = r.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = None
        msg = "" if r.status_code == 200 else \
            f"HTTP {r.status_code}: {(data or {}).get('message') or r.text[:200]}"
        return Reply(r.status_code, data, msg)

    def get(self, path: str, timeout: float, headers: dict | None = None):
        return self.session.get(f"{self.server}{path}", timeout=timeout, headers=headers or {})


# --------------------------------------------------------------------------- the outbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    nonce TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | rejected
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    response TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS scans_pending ON scans(state, next_try);
"""


@dataclass
class Row:
    nonce: str
    body: dict
    state: str
    attempts: int
    next_try: float
    last_error: Optional[str]
    response: Optional[dict]


class Outbox:
    """An SQLite file of scans; safe to share between the loop and the sender thread.

    ``next_try`` is wall-clock (``time.time()``) so it survives a restart.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.changed = threading.Event()  # wakes the sender when a scan is added

    def close(self):
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args=()):
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def add(self, body: dict, hold: float = 0.0) -> str:
        """Commit one scan; ``hold`` keeps the sender off it while the loop posts it itself."""
        body = dict(body)
        body.setdefault("nonce", uuid.uuid4().hex)
        now = time.time()
        self._exec("INSERT INTO scans(nonce, body, created_at, next_try) VALUES (?, ?, ?, ?)",
                   (body["nonce"], json.dumps(body, ensure_ascii=False), now, now + hold))
        self.changed.set()
        return body["nonce"]

    def update_body(self, nonce: str, **fields) -> None:
        """E.g. record ``offline_reason`` once the loop knows it showed an offline verdict."""
        with self._lock:
            row = self._db.execute("SELECT body FROM scans WHERE nonce=?", (nonce,)).fetchone()
            if row:
                body = {**json.loads(row[0]), **fields}
                self._db.execute("UPDATE scans SET body=? WHERE nonce=? AND state='pending'",
                                 (json.dumps(body, ensure_ascii=False), nonce))

    def release(self, nonce: str) -> None:
        """Hand a held scan to the sender now."""
        self._exec("UPDATE scans SET next_try=? WHERE nonce=? AND state='pending'",
                   (time.time(), nonce))
        self.changed.set()

    def release_all(self) -> None:
        self._exec("UPDATE scans SET next_try=? WHERE state='pending' AND next_try>?",
                   (time.time(), time.time()))
        self.changed.set()

    def delivered(self, nonce: str, response: dict | None) -> None:
        self._exec("UPDATE scans SET state='delivered', response=?, delivered_at=?, last_error=NULL"
                   " WHERE nonce=? AND state='pending'",
                   (json.dumps(response, ensure_ascii=False), time.time(), nonce))

    def rejected(self, nonce: str, error: str, response: dict | None = None) -> None:
        self._exec("UPDATE scans SET state='rejected', last_error=?, response=?,"
                   " attempts=attempts+1"
                   " WHERE nonce=? AND state='pending'",
                   (error, json.dumps(response, ensure_ascii=False) if response else None, nonce))

    def retry_later(self, nonce: str, error: str, delay: float | None = None) -> None:
        with self._lock:
            row = self._db.execute("SELECT attempts FROM scans WHERE nonce=?", (nonce,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            wait = backoff(attempts) if delay is None else delay
            self._db.execute("UPDATE scans SET attempts=?, next_try=?, last_error=?"
                             " WHERE nonce=? AND state='pending'",
                             (attempts, time.time() + wait, error, nonce))

    def due(self, limit: int = 20) -> list[Row]:
        rows = self._exec("SELECT nonce, body, state, attempts, next_try, last_error, response"
                          " FROM scans WHERE state='pending' AND next_try<=? ORDER BY id LIMIT ?",
                          (time.time(), limit))
        return [self._row(r) for r in rows]

    def next_due(self) -> Optional[float]:
        got = self._exec("SELECT MIN(next_try) FROM scans WHERE state='pending'")
        return got[0][0] if got and got[0][0] is not None else None

    def pending_count(self) -> int:
        return self._exec("SELECT COUNT(*) FROM scans WHERE state='pending'")[0][0]

    def counts(self) -> dict[str, int]:
        return dict(self._exec("SELECT state, COUNT(*) FROM scans GROUP BY state"))

    def rows(self, state: str | None = None) -> list[Row]:
        sql = "SELECT nonce, body, state, attempts, next_try, last_error, response FROM scans"
        args: tuple = ()
        if state:
            sql, args = sql + " WHERE state=?", (state,)
        return [self._row(r) for r in self._exec(sql + " ORDER BY id", args)]

    def forget_delivered(self, older_than: float = 7 * 86400) -> int:
        """Delivered scans are on the service; keep a week locally for questions, then drop."""
        with self._lock:
            cur = self._db.execute("DELETE FROM scans WHERE state='delivered' AND delivered_at<?",
                                   (time.time() - older_than,))
            return cur.rowcount

    @staticmethod
    def _row(r) -> Row:
        return Row(nonce=r[0], body=json.loads(r[1]), state=r[2], attempts=r[3], next_try=r[4],
                   last_error=r[5], response=json.loads(r[6]) if r[6] else None)


# --------------------------------------------------------------------------- delivery

def deliver(outbox: Outbox, client: ServiceClient, link: Link, row: Row,
            timeout: float) -> Reply:
    """Post one scan and record the outcome in the outbox; returns the reply.

    200: delivered, the service's verdict stored. 401: kept, retried slowly
    (a token problem the guard must see). 408/429/5xx/no answer: kept, retried
    with backoff. Any other 4xx can never succeed: kept aside as rejected,
    with the service's message, never retried and never silently dropped.
    """
    reply = client.post_scan(row.body, timeout)
    if reply.status == 200 and reply.data is not None:
        outbox.delivered(row.nonce, reply.data)
        link.ok()
    elif reply.status == 401:
        link.fail(reply.error, auth=True)
        outbox.retry_later(row.nonce, reply.error, AUTH_RETRY)
    elif 400 <= reply.status < 500 and reply.status not in RETRY_STATUSES:
        link.ok()  # the service answered: the link is fine, this scan is not
        outbox.rejected(row.nonce, reply.error, reply.data)
    else:
        if reply.status == 0:
            link.fail(reply.error or "no answer")
        outbox.retry_later(row.nonce, reply.error or f"HTTP {reply.status}")
    return reply


class Sender(threading.Thread):
    """Delivers due scans oldest first, backing off while the service is unreachable.

    A scan the service chokes on (5xx) waits on its own backoff so it cannot
    hold up the queue behind it; an unreachable service pauses the whole
    queue. When the link comes back every waiting scan is due at once.
    """

    def __init__(self, outbox: Outbox, server: str, device_token: str, link: Link,
                 timeout: float = 10.0,
                 on_delivered: Callable[[Row, dict], None] | None = None):
        super().__init__(name="sender", daemon=True)
        self.outbox, self.link, self.timeout = outbox, link, timeout
        self.server, self.device_token = server, device_token
        self.on_delivered = on_delivered
        self.max_wait = BACKOFF_CAP  # lowered while draining before exit
        self.streak = 0  # consecutive failures to reach the service
        self._halt = threading.Event()
        self._wake = threading.Event()
        link.on_up.append(self.flush)

    def stop(self):
        self._halt.set()
        self.nudge()

    def nudge(self):
        self._wake.set()
        self.outbox.changed.set()

    def flush(self):
        """The link is back (or we are about to exit): try every waiting scan now."""
        try:
            self.outbox.release_all()
        except sqlite3.Error:
            pass
        self.nudge()

    def run(self):
        client = ServiceClient(self.server, self.device_token)
        while not self._halt.is_set():
            self.outbox.changed.clear()
            self._wake.clear()
            try:
                rows = self.outbox.due()
            except sqlite3.Error:
                rows = []
            pause = None
            for row in rows:
                if self._halt.is_set():
                    return
                reply = deliver(self.outbox, client, self.link, row, self.timeout)
                if reply.status == 200:
                    self.streak = 0
                    if self.on_delivered and reply.data is not None:
                        self.on_delivered(row, reply.data)
                elif reply.status == 401:
                    pause = AUTH_RETRY
                    break
                elif reply.status in (0, 408, 429):
                    self.streak += 1
                    pause = backoff(self.streak)
                    break
            if pause is not None:
                self._wake.wait(min(pause, self.max_wait))
                continue
            nxt = self.outbox.next_due()
            wait = 5.0 if nxt is None else min(5.0, max(0.0, nxt - time.time()))
            if rows and wait == 0.0:
                continue
            self.outbox.changed.wait(min(wait, self.max_wait))
