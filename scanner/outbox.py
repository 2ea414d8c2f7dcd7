"""What a gate has not yet delivered (scans and logbook events), on disk, and the thread
that delivers it.

A row is committed to SQLite (WAL, ``synchronous=FULL``) before the guard
sees its verdict, so pulling the plug, SIGKILL or a dead network loses
nothing: the next start sends what is left. Delivery is at-least-once; the
service's unique nonce turns it into exactly once.

A row counts as delivered only on a *receipt*: a 200 whose JSON has the
fields the contract promises (a scan: integer ``scan_id`` and string
``reason``; an event: integer ``event_id``). Anything else the network hands
back (a captive portal's page, ``{}``, a redirect) is a link error and the row
is retried; only a 4xx that names the row as bad puts it aside as rejected,
and ``python -m scanner outbox requeue`` puts it back (scanner/replies.py judges
replies; scanner/client.py makes the requests).
"""
from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from gatepass.wire import EVENTS_PATH, RETRY_STATUSES, SCANS_PATH

from .client import Link, Reply, ServiceClient
from .replies import outcome, receipt

log = logging.getLogger("scanner.outbox")

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


#: Where each kind of outbox row is posted.
PATHS = {"scan": SCANS_PATH, "event": EVENTS_PATH}

# --------------------------------------------------------------------------- the outbox

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'scan',       -- scan | event (PATHS says where it goes)
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
#: Outbox files written before events existed have no kind column: every row was a scan.
ADD_KIND = "ALTER TABLE scans ADD COLUMN kind TEXT NOT NULL DEFAULT 'scan'"
COLUMNS = "nonce, body, state, attempts, next_try, last_error, response, kind"


@dataclass
class Row:
    nonce: str
    body: dict
    state: str
    attempts: int
    next_try: float
    last_error: Optional[str]
    response: Optional[dict]
    kind: str = "scan"


class Outbox:
    """An SQLite file of scans and events; safe to share between the loop and the sender.

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
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(scans)")}
        if "kind" not in columns:
            self._db.execute(ADD_KIND)
        self.changed = threading.Event()  # wakes the sender when a scan is added

    def close(self):
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args=()):
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def add(self, body: dict, hold: float = 0.0, kind: str = "scan") -> str:
        """Commit one row (``kind`` 'scan' or 'event'); ``hold`` keeps the sender off it while
        the loop posts it itself."""
        if kind not in PATHS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        body = dict(body)
        body.setdefault("nonce", uuid.uuid4().hex)
        now = time.time()
        self._exec("INSERT INTO scans(kind, nonce, body, created_at, next_try)"
                   " VALUES (?, ?, ?, ?, ?)",
                   (kind, body["nonce"], json.dumps(body, ensure_ascii=False), now, now + hold))
        self.changed.set()
        return body["nonce"]

    def update_body(self, nonce: str, **fields) -> None:
        """E.g. record ``offline_reason`` the moment the guard is shown an offline verdict,
        whatever the row's state: the log must say what the guard saw."""
        with self._lock:
            row = self._db.execute("SELECT body FROM scans WHERE nonce=?", (nonce,)).fetchone()
            if row:
                body = {**json.loads(row[0]), **fields}
                self._db.execute("UPDATE scans SET body=? WHERE nonce=?",
                                 (json.dumps(body, ensure_ascii=False), nonce))

    def resend(self, nonce: str) -> None:
        """Post a row again, due now, even if it was delivered: its body changed after the
        post that reached the service (the offline verdict shown while that post was still
        in flight). The service's nonce keeps it one scan."""
        self._exec("UPDATE scans SET state='pending', next_try=?, attempts=0 WHERE nonce=?",
                   (time.time(), nonce))
        self.changed.set()

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
        rows = self._exec(f"SELECT {COLUMNS}"
                          " FROM scans WHERE state='pending' AND next_try<=? ORDER BY id LIMIT ?",
                          (time.time(), limit))
        return [self._row(r) for r in rows]

    def next_due(self) -> Optional[float]:
        got = self._exec("SELECT MIN(next_try) FROM scans WHERE state='pending'")
        return got[0][0] if got and got[0][0] is not None else None

    def state_of(self, nonce: str) -> Optional[str]:
        got = self._exec("SELECT state FROM scans WHERE nonce=?", (nonce,))
        return got[0][0] if got else None

    def pending_count(self) -> int:
        return self._exec("SELECT COUNT(*) FROM scans WHERE state='pending'")[0][0]

    def counts(self) -> dict[str, int]:
        return dict(self._exec("SELECT state, COUNT(*) FROM scans GROUP BY state"))

    def counts_by_kind(self) -> dict[tuple[str, str], int]:
        """{(kind, state): rows}, for ``outbox list``."""
        return {(k, st): n for k, st, n in
                self._exec("SELECT kind, state, COUNT(*) FROM scans GROUP BY kind, state")}

    def requeue_rejected(self) -> int:
        """Rejected rows back to pending, due now (after the service or the scanner was
        fixed); the service's nonce check keeps a row that did arrive from counting twice."""
        with self._lock:
            cur = self._db.execute("UPDATE scans SET state='pending', next_try=?, attempts=0"
                                   " WHERE state='rejected'", (time.time(),))
            count = cur.rowcount
        self.changed.set()
        return count

    def rows(self, state: str | None = None) -> list[Row]:
        sql = f"SELECT {COLUMNS} FROM scans"
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
                   last_error=r[5], response=json.loads(r[6]) if r[6] else None, kind=r[7])


# --------------------------------------------------------------------------- delivery

def deliver(outbox: Outbox, client: ServiceClient, link: Link, row: Row,
            timeout: float) -> tuple[Reply, Optional[dict]]:
    """Post one row and record the outcome in the outbox; returns (reply, receipt).

    A receipt: delivered, the service's answer stored. 401: kept, retried slowly (a token
    problem the guard must see). A link error (no answer, a redirect, 403/404/405,
    408/429, 5xx, a 200 that is no receipt): kept, retried with backoff. Any other 4xx
    can never succeed as it is: kept aside as rejected with the service's message, never
    silently dropped (``python -m scanner outbox requeue`` retries it).
    """
    reply = client.post(PATHS.get(row.kind, SCANS_PATH), row.body, timeout)
    got = receipt(row.kind, reply.data) if reply.status == 200 else None
    if got is not None:
        outbox.delivered(row.nonce, got)
        link.ok()
        return reply, got
    what = outcome(reply.status)
    if what == "auth":
        link.fail(reply.error, auth=True)
        outbox.retry_later(row.nonce, reply.error, AUTH_RETRY)
    elif what == "rejected":
        link.ok()  # the service answered: the link is fine, this row is not
        outbox.rejected(row.nonce, reply.error, reply.data)
    else:
        error = reply.error or f"HTTP {reply.status}" + (": no receipt" if reply.status == 200
                                                         else "")
        if reply.status == 0 or (reply.status < 500 and reply.status not in RETRY_STATUSES):
            link.fail(error)  # no answer, or not our service answering (portal, proxy)
        elif reply.status >= 500:
            link.server_error(error)
        outbox.retry_later(row.nonce, error)
    return reply, None


class Sender(threading.Thread):
    """Delivers due scans oldest first, backing off while the service is unreachable.

    A row the service chokes on (5xx) waits on its own backoff so it cannot
    hold up the queue behind it; an unreachable service pauses the whole
    queue. When the link comes back every waiting row is due at once. Nothing a
    reply or a callback does ends the thread: a failure is logged and the loop
    goes on, so the gate never stops uploading until a restart.
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
        client = ServiceClient(self.server, self.device_token, self.outbox.pending_count)
        while not self._halt.is_set():
            try:
                self._round(client)
            except Exception:  # noqa: BLE001 - the sender must outlive any bug or reply
                log.exception("sender: a round failed; going on")
                self._wake.wait(1.0)

    def _round(self, client: ServiceClient) -> None:
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
            try:
                reply, got = deliver(self.outbox, client, self.link, row, self.timeout)
            except sqlite3.Error:
                log.exception("sender: outbox write failed for %s", row.nonce)
                continue
            if got is not None:
                self.streak = 0
                if self.on_delivered:
                    try:
                        self.on_delivered(row, got)
                    except Exception:  # noqa: BLE001 - the screen's trouble, not the queue's
                        log.exception("sender: on_delivered failed for %s", row.nonce)
            elif reply.status == 401:
                pause = AUTH_RETRY
                break
            elif outcome(reply.status) == "link" and reply.status < 500:
                self.streak += 1  # the link is down or wrong: pause the whole queue
                pause = backoff(self.streak)
                break
        if pause is not None:
            self._wake.wait(min(pause, self.max_wait))
            return
        nxt = self.outbox.next_due()
        wait = 5.0 if nxt is None else min(5.0, max(0.0, nxt - time.time()))
        if rows and wait == 0.0:
            return
        self.outbox.changed.wait(min(wait, self.max_wait))
