"""The thread that posts the scan the guard is waiting for, off the loop that draws the
screen: the loop waits ``--timeout`` at most, whatever the network does.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Optional

from .client import Link, ServiceClient
from .outbox import Outbox, Row, deliver

log = logging.getLogger("scanner")

#: How long past the guard's wait the posting thread may still finish a scan (its own
#: wall-clock deadline); the sender keeps off the row until then.
POST_GRACE = 2.0


class _Job:
    def __init__(self, row: Row):
        self.row, self.done, self.got, self.gave_up = row, threading.Event(), None, False
        self.offline_reason: Optional[str] = None


class Poster(threading.Thread):
    """Posts the scan the guard is waiting for, off the loop that draws the screen.

    The loop waits ``timeout`` at most (a wall clock, whatever the server does) and shows
    the offline verdict when no receipt came; the post goes on here until its own
    deadline and, if the receipt arrives late, ``on_late`` hears of it.
    """

    def __init__(self, outbox: Outbox, server: str, device_token: str, link: Link,
                 timeout: float, on_late: Callable[[Row, dict], None] | None = None):
        super().__init__(name="poster", daemon=True)
        self.outbox, self.link, self.timeout, self.on_late = outbox, link, timeout, on_late
        self.server, self.device_token = server, device_token
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()

    def ask(self, row: Row) -> tuple[bool, Optional[dict]]:
        """(answered in time, receipt or None) within ``timeout`` s; when not answered the
        post continues in the background."""
        job = _Job(row)
        self._jobs.put(job)
        answered = job.done.wait(self.timeout)
        with self._lock:
            if job.got is None:
                job.gave_up = True
            return answered or job.got is not None, job.got

    def give_up(self, row: Row, offline_reason: str) -> None:
        """Record the offline verdict the guard saw, for a late receipt's comparison."""
        row.body["offline_reason"] = offline_reason

    def stop(self) -> None:
        self._jobs.put(None)

    def run(self) -> None:
        client = ServiceClient(self.server, self.device_token, self.outbox.pending_count)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if self.outbox.state_of(job.row.nonce) != "pending":
                    job.done.set()
                    continue  # the sender got there first
                _, got = deliver(self.outbox, client, self.link, job.row,
                                 self.timeout + POST_GRACE)
            except Exception:  # noqa: BLE001 - the poster must outlive any reply
                log.exception("poster: %s failed", job.row.nonce)
                got = None
            with self._lock:
                job.got = got
                late = job.gave_up and got is not None
            job.done.set()
            if late and self.on_late:
                try:
                    self.on_late(job.row, got)
                except Exception:  # noqa: BLE001
                    log.exception("poster: late-verdict callback failed")

