"""A stand-in for the service endpoints other branches build, speaking CONTRACTS.md exactly.

At the time the scanner side was written, ``POST /api/v1/events`` and
``/api/v1/duty/sign-on|sign-off`` (issue 11) and ``POST /api/v1/enroll`` (issue 12) were
being built in other branches. So that the scanner is still tested end to end over real
HTTP, this module runs a small real HTTP server (stdlib ``http.server`` on 127.0.0.1)
that implements those endpoints as CONTRACTS.md writes them, and forwards every other
request (scans, snapshot, ping) to the real service (``LiveService``) unchanged. It also
records every request it sees (method, path, headers, JSON body) so tests can check the
scanner's headers and bodies.

When the real endpoints are merged, the lead points the tests at the real service
instead (``ContractServer(upstream=svc).url`` -> ``svc.url``) and drops this module; keep
it faithful to CONTRACTS.md, not to the scanner.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from gatepass.wire import (DUTY_SIGN_OFF_PATH, DUTY_SIGN_ON_PATH, ENROLL_PATH, EVENTS_PATH,
                           EVENT_KINDS, INCIDENT_TYPES, TURN_AWAY_REASONS, enroll_text,
                           parse_time)

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length", "host"}


class BadRequest(Exception):
    pass


def _check_event(body: dict) -> None:
    """CONTRACTS.md: the body of POST /api/v1/events; BadRequest with the message."""
    nonce = body.get("nonce")
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= 64:
        raise BadRequest("nonce must be a string of 1-64 characters")
    if body.get("kind") not in EVENT_KINDS:
        raise BadRequest(f"unknown kind {body.get('kind')!r}")
    try:
        parse_time(str(body.get("at")))
    except ValueError:
        raise BadRequest("at must be an ISO-8601 time") from None
    if not isinstance(body.get("note", ""), str):
        raise BadRequest("note must be a string")
    if "guard_id" in body and (not isinstance(body["guard_id"], int)
                               or isinstance(body["guard_id"], bool)):
        raise BadRequest("guard_id must be an integer")
    kind = body["kind"]
    enums = {"turn_away": {"reason": TURN_AWAY_REASONS},
             "incident": {"type": INCIDENT_TYPES},
             "visitor": {"direction": ("in", "out")},
             "vehicle": {"direction": ("in", "out")}}.get(kind, {})
    for field, allowed in enums.items():
        if field in body and body[field] not in allowed:
            raise BadRequest(f"{field} must be one of {', '.join(allowed)}")
    if kind == "courier":
        if "parcels" in body and (not isinstance(body["parcels"], int)
                                  or isinstance(body["parcels"], bool) or body["parcels"] < 0):
            raise BadRequest("parcels must be a non-negative integer")
        if "disinfected" in body and not isinstance(body["disinfected"], bool):
            raise BadRequest("disinfected must be true or false")
    strings = {"turn_away": ("plate",), "visitor": ("name", "phone", "host_household", "purpose"),
               "courier": ("company", "handed_to"), "vehicle": ("plate", "driver_phone", "reason"),
               "incident": ("description",)}[kind]
    for field in strings:
        if field in body and not isinstance(body[field], str):
            raise BadRequest(f"{field} must be a string")


class ContractServer:
    """``with ContractServer(upstream=service, device_token=..., keys_dir=...) as cs:``"""

    def __init__(self, upstream=None, device_token: str = "", keys_dir: Path | None = None,
                 gate: str = "东门", guards: dict | None = None):
        self.upstream = upstream  # a LiveService (anything with .url); None: 404 elsewhere
        self.device_token, self.keys_dir, self.gate = device_token, keys_dir, gate
        self.guards = guards if guards is not None else {"1234": {"id": 7, "name": "王师傅"}}
        self.requests: list[dict] = []
        self.events: dict[str, dict] = {}  # nonce -> {"event_id", "body"}
        self.handovers: list[dict] = []
        self.codes: dict[str, dict] = {}  # sha256(code) -> {"expires", "used"}
        self.duty: list[dict] = []
        self.down = False  # answer nothing (close the connection): the network is down
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- life --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> "ContractServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what tests set up -------------------------------------------------------

    def setup_qr_text(self, ttl: float = 600.0) -> str:
        """A fresh one-time setup code, as the office's page would show it."""
        code = secrets.token_urlsafe(24)[:32]
        while len(code) < 32:
            code += "A"
        self.codes[hashlib.sha256(code.encode()).hexdigest()] = {
            "expires": time.time() + ttl, "used": False}
        return enroll_text(code, self.url)

    def stored_events(self) -> list[dict]:
        with self._lock:
            return [e["body"] for e in sorted(self.events.values(), key=lambda e: e["event_id"])]

    def posts(self, path: str) -> list[dict]:
        return [r for r in list(self.requests) if r["method"] == "POST" and r["path"] == path]

    # -- the endpoints -----------------------------------------------------------

    def _authorised(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.device_token}"

    def _events(self, body) -> tuple[int, dict]:
        _check_event(body)
        with self._lock:
            known = self.events.get(body["nonce"])
            if known is None:
                known = {"event_id": len(self.events) + 1, "body": body}
                self.events[body["nonce"]] = known
        return 200, {"event_id": known["event_id"], "kind": known["body"]["kind"]}

    def _sign_on(self, body) -> tuple[int, dict]:
        pin = body.get("pin")
        if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8:
            raise BadRequest("pin must be 4-8 digits")
        guard = self.guards.get(pin)
        if guard is None:
            return 403, {"error": "BAD_PIN", "message": "PIN 不正确"}
        now = datetime.now(timezone.utc)
        shift = {"id": 1, "name": "夜班", "starts_at": now.replace(minute=0).isoformat(),
                 "ends_at": (now.replace(minute=0) + timedelta(hours=3)).isoformat()}
        self.duty.append({"guard": guard, "at": now.isoformat()})
        handover = self.handovers[-1] if self.handovers else None
        return 200, {"guard": dict(guard), "shift": shift, "handover": handover}

    def _sign_off(self, body) -> tuple[int, dict]:
        guard_id, note, waiting = body.get("guard_id"), body.get("note"), body.get("outbox_waiting")
        if not isinstance(guard_id, int) or isinstance(guard_id, bool) \
                or not isinstance(note, str) or not isinstance(waiting, int):
            raise BadRequest("guard_id (int), note (str) and outbox_waiting (int) are required")
        name = next((g["name"] for g in self.guards.values() if g["id"] == guard_id), "")
        summary = {"events": len(self.events), "outbox_waiting": waiting}
        handover = {"id": len(self.handovers) + 1, "from": name,
                    "at": datetime.now(timezone.utc).isoformat(), "summary": summary,
                    "note": note}
        self.handovers.append(handover)
        return 200, {"handover_id": handover["id"], "summary": summary}

    def _enroll(self, body) -> tuple[int, dict]:
        code = body.get("code")
        if not isinstance(code, str) or len(code) != 32:
            raise BadRequest("code must be the 32 characters of the setup QR")
        if "scanner_version" in body and not isinstance(body["scanner_version"], str):
            raise BadRequest("scanner_version must be a string")
        with self._lock:
            entry = self.codes.get(hashlib.sha256(code.encode()).hexdigest())
            if entry is None or entry["used"] or entry["expires"] < time.time():
                return 403, {"error": "BAD_SETUP_CODE",
                             "message": "设置码无效、已使用或已过期"}
            entry["used"] = True
        keys = [json.loads(f.read_text(encoding="utf-8"))
                for f in sorted(Path(self.keys_dir).glob("*.key"))] if self.keys_dir else []
        return 200, {"device_id": 1, "device_name": f"{self.gate}扫码机", "gate": self.gate,
                     "device_token": self.device_token, "keys": keys}

    # -- HTTP --------------------------------------------------------------------

    def _handler(self):
        server = self
        routes = {EVENTS_PATH: (server._events, True),  # path: (handler, needs the token)
                  DUTY_SIGN_ON_PATH: (server._sign_on, True),
                  DUTY_SIGN_OFF_PATH: (server._sign_off, True),
                  ENROLL_PATH: (server._enroll, False)}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, data: dict | None, headers=()) -> None:
                raw = json.dumps(data, ensure_ascii=False).encode() if data is not None else b""
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                if data is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self):
                if server.down:
                    self.close_connection = True
                    self.connection.close()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                path = urlsplit(self.path).path
                server.requests.append({"method": self.command, "path": path,
                                        "headers": dict(self.headers.items()), "body": body})
                route = routes.get(path)
                if route is None:
                    return self._forward(raw)
                if self.command != "POST":
                    return self._reply(405, {"error": "METHOD", "message": "POST only"})
                handler, needs_token = route
                if needs_token and not server._authorised(self.headers):
                    return self._reply(401, {"error": "UNAUTHORIZED",
                                             "message": "device token required"})
                if not isinstance(body, dict):
                    return self._reply(400, {"error": "BAD_REQUEST",
                                             "message": "body must be a JSON object"})
                try:
                    status, data = handler(body)
                except BadRequest as err:
                    status, data = 400, {"error": "BAD_REQUEST", "message": str(err)}
                self._reply(status, data)

            def _forward(self, raw: bytes):
                if server.upstream is None:
                    return self._reply(404, {"error": "NOT_FOUND", "message": "no such path"})
                up = urlsplit(server.upstream.url)
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=raw or None, headers=headers)
                    r = conn.getresponse()
                    data = r.read()
                except OSError:
                    return self._reply(502, {"error": "UPSTREAM", "message": "service down"})
                finally:
                    conn.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return Handler
