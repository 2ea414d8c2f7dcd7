"""The thread that posts the scan the guard is waiting for, off the loop that draws the
screen: the loop waits ``--timeout`` at most, whatever the network does.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace
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
    """Posts the scans the guard is waiting for, off the loop that draws the screen.

    The loop waits ``timeout`` at most (a wall clock, whatever the server does) and shows
    the offline verdict when no receipt came; the post goes on here until its own
    deadline and, if the receipt arrives late, ``on_late`` hears of it. The offline verdict
    is written into the outbox row the moment the loop gives up, and a post that was still
    in flight without it is made again with it: the service logs what the guard saw.
    """

    def __init__(self, outbox: Outbox, server: str, device_token: str, link: Link,
                 timeout: float, on_late: Callable[[Row, dict], None] | None = None):
        super().__init__(name="poster", daemon=True)
        self.outbox, self.link, self.timeout, self.on_late = outbox, link, timeout, on_late
        self.server, self.device_token = server, device_token
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()

    def ask(self, rows: list[Row],
            offline_reasons: list[str]) -> list[tuple[bool, Optional[dict]]]:
        """For each row, (answered in time, receipt or None), all within one ``timeout``
        (a family's two or three passes do not wait one after another). A row without a
        receipt by then gets its ``offline_reason`` (what the guard is about to be shown)
        in the outbox at once; its post continues in the background."""
        jobs = [_Job(row) for row in rows]
        for job in jobs:
            self._jobs.put(job)
        deadline = time.monotonic() + self.timeout
        answered = [job.done.wait(max(0.0, deadline - time.monotonic())) for job in jobs]
        out = []
        with self._lock:
            for job, reason, in_time in zip(jobs, offline_reasons, answered):
                if job.got is None:
                    job.gave_up, job.offline_reason = True, reason
                    job.row.body["offline_reason"] = reason
                    self.outbox.update_body(job.row.nonce, offline_reason=reason)
                out.append((in_time or job.got is not None, job.got))
        return out

    def stop(self) -> None:
        self._jobs.put(None)

    def run(self) -> None:
        client = ServiceClient(self.server, self.device_token, self.outbox.pending_count)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            posted = job.row
            try:
                if self.outbox.state_of(job.row.nonce) != "pending":
                    job.done.set()
                    continue  # the sender got there first
                with self._lock:  # what goes on the wire: the body as it is now
                    posted = replace(job.row, body=dict(job.row.body))
                _, got = deliver(self.outbox, client, self.link, posted,
                                 self.timeout + POST_GRACE)
            except Exception:  # noqa: BLE001 - the poster must outlive any reply
                log.exception("poster: %s failed", job.row.nonce)
                got = None
            self._finish(job, posted.body, got)

    def _finish(self, job: _Job, posted: dict, got: Optional[dict]) -> None:
        with self._lock:
            job.got = got
            late = job.gave_up and got is not None
            again = late and "offline_reason" not in posted
        job.done.set()
        if again:  # the service logged it without the verdict the guard saw: tell it
            self.outbox.resend(job.row.nonce)
        if late and self.on_late:
            try:
                self.on_late(job.row, got)
            except Exception:  # noqa: BLE001
                log.exception("poster: late-verdict callback failed")
