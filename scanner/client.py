"""The gate's line to the service: what the guard's status line knows about the link
(``Link``), and ``ServiceClient``, whose every request ends by a wall-clock deadline
whatever the server does (a server dripping one byte a second included).

Used by the outbox's sender, the poster, the snapshot poller, enrolment and duty.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from gatepass.wire import OUTBOX_WAITING_HEADER, SCANNER_VERSION_HEADER, SCANS_PATH

from . import __version__


#: This many 5xx answers in a row and the guard's status line says 服务器异常: the network
#: is fine, the service is not (its database down, say); one bad row is not a streak.
SERVER_ERROR_STREAK = 2


class Link:
    """What the gate knows about its connection, for the guard's status line."""

    def __init__(self):
        self.online: Optional[bool] = None  # None: not tried yet
        self.last_ok = 0.0
        self.last_fail = 0.0
        self.auth_failed = False
        self.server_errors = 0  # 5xx answers in a row
        self.error = ""
        self.on_up: list[Callable[[], None]] = []  # called when the service answers again

    def ok(self):
        """The service answered properly. After an outage (no answer, or a 5xx streak) the
        ``on_up`` callbacks run: the sender then releases its whole backlog at once instead
        of each row waiting out its own backoff."""
        was_down = self.online is False or self.server_errors >= SERVER_ERROR_STREAK
        self.online, self.last_ok, self.auth_failed, self.error = True, time.monotonic(), False, ""
        self.server_errors = 0
        if was_down:
            for callback in list(self.on_up):
                callback()

    def fail(self, error: str, auth: bool = False):
        self.online, self.last_fail, self.error = False, time.monotonic(), error
        self.auth_failed = auth

    def server_error(self, error: str) -> None:
        """The service answered with a 5xx: reachable, but not working."""
        self.server_errors += 1
        self.last_fail, self.error = time.monotonic(), error

    @property
    def server_trouble(self) -> bool:
        """A streak of 5xx answers and nothing better since."""
        return self.server_errors >= SERVER_ERROR_STREAK

    def recently_down(self, within: float) -> bool:
        """Down at the last try, less than ``within`` seconds ago: don't make the queue wait."""
        return self.online is False and time.monotonic() - self.last_fail < within


@dataclass
class Reply:
    status: int  # 0: no answer (network down, timeout, deadline)
    data: Optional[dict] = None
    error: str = ""


#: Where each kind of outbox row is posted.

# --- a wall-clock deadline for a whole request ------------------------------------------
# requests' timeout bounds each socket read, so a server dripping one byte a second never
# trips it. Each request registers the connections it uses; a timer shuts their sockets
# down when the deadline passes, which ends any blocked read at once.

_in_flight = threading.local()


class _Deadline:
    def __init__(self, seconds: float):
        self.connections: list = []
        self.expired = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._timer = threading.Thread(target=self._watch, args=(seconds,), daemon=True,
                                       name="deadline")

    def __enter__(self):
        _in_flight.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc):
        _in_flight.deadline = None
        self._done.set()
        return False

    def add(self, conn) -> None:
        with self._lock:
            self.connections.append(conn)

    def _watch(self, seconds: float) -> None:
        if self._done.wait(seconds):
            return
        self.expired = True
        while not self._done.is_set():  # again and again: a connect may finish late
            with self._lock:
                for conn in self.connections:
                    sock = getattr(conn, "sock", None)
                    if sock is not None:
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
            self._done.wait(0.05)


class _WatchedPool(HTTPConnectionPool):
    def _make_request(self, conn, *args, **kwargs):
        deadline = getattr(_in_flight, "deadline", None)
        if deadline is not None:
            deadline.add(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


class _DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connection pools tell the current request's deadline which
    connection it is using. No retries: the outbox is the retry."""

    def __init__(self):
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool,
                                                   "https": _WatchedHTTPSPool}


def _json_object(r: requests.Response) -> Optional[dict]:
    """The reply's JSON if it is an object; None for anything else, never an exception
    (a 50,000-deep nesting raises RecursionError, not ValueError)."""
    try:
        data = r.json()
    except Exception:  # noqa: BLE001 - whatever a server or a portal sends
        return None
    return data if isinstance(data, dict) else None


class ServiceClient:
    """The gate API. One per thread: a requests.Session is not thread-safe.

    Every request carries the scanner's version and how many rows wait in its outbox
    (``waiting``), never follows a redirect, and ends by a wall-clock deadline.
    """

    def __init__(self, server: str, device_token: str | None,
                 waiting: Callable[[], int] | None = None):
        self.server = server.rstrip("/")
        self.waiting = waiting
        self.session = requests.Session()
        adapter = _DeadlineAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if device_token:
            self.session.headers["Authorization"] = f"Bearer {device_token}"
        self.session.headers["User-Agent"] = f"gatepass-scanner/{__version__}"
        self.session.headers[SCANNER_VERSION_HEADER] = __version__

    def _headers(self, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        try:
            count = self.waiting() if self.waiting else 0
        except Exception:  # noqa: BLE001 - a closed outbox must not stop a request
            count = 0
        headers[OUTBOX_WAITING_HEADER] = str(int(count))
        return headers

    def request(self, method: str, path: str, deadline: float, json_body=None,
                headers: dict | None = None) -> requests.Response:
        """One request, over by ``deadline`` seconds of wall-clock time whatever the server
        does; raises requests.RequestException (``Deadline`` when cut off)."""
        with _Deadline(deadline) as watch:
            try:
                r = self.session.request(method, f"{self.server}{path}", json=json_body,
                                         headers=self._headers(headers), allow_redirects=False,
                                         timeout=(min(deadline, 3.05), deadline))
                r.content  # read the whole body under the deadline
            except requests.RequestException:
                if watch.expired:
                    raise Deadline(f"no complete reply within {deadline:g} s") from None
                raise
            except Exception as exc:  # noqa: BLE001 - a socket shut mid-read, a bad header
                raise Deadline(f"{type(exc).__name__} within {deadline:g} s") from None
        if watch.expired:
            raise Deadline(f"no complete reply within {deadline:g} s")
        return r

    def post(self, path: str, body: dict, timeout: float) -> Reply:
        """POST ``body``; Reply(0, ...) when there was no complete answer in time."""
        try:
            r = self.request("POST", path, timeout, json_body=body)
        except requests.RequestException as exc:
            return Reply(0, error=str(exc) if isinstance(exc, Deadline) else type(exc).__name__)
        data = _json_object(r)
        msg = ""
        if r.status_code != 200:
            message = (data or {}).get("message")
            text = message if isinstance(message, str) else r.text[:200]
            msg = f"HTTP {r.status_code}: {text}"
        return Reply(r.status_code, data, msg)

    def post_scan(self, body: dict, timeout: float) -> Reply:
        return self.post(SCANS_PATH, body, timeout)

    def get(self, path: str, timeout: float, headers: dict | None = None):
        return self.request("GET", path, timeout, headers=headers)


class Deadline(requests.exceptions.Timeout):
    """The wall-clock deadline of a request passed."""
