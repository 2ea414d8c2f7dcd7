"""The gate API: scanner laptops post scans and fetch the offline snapshot."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest

from ..extensions import csrf, db
from gatepass.wire import (DIRECTIONS, OUTBOX_WAITING_HEADER, SCANNER_VERSION_HEADER,
                           TEMPERATURE_MAX, TEMPERATURE_MIN, parse_time, scan_time_problem)
from ..services.checkin import ScanRequest, perform_scan
from ..services.devices import device_for_token, touch_device
from ..duty.guards import valid_guard_id
from ..services.snapshot import snapshot_body, snapshot_etag

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # devices authenticate with a bearer token, not a cookie


def device_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        device = device_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if device is None:
            return jsonify(error="unauthorized",
                           message="missing or invalid device token"), 401
        g.device = device
        touch_device(device, request.headers.get(SCANNER_VERSION_HEADER),
                     request.headers.get(OUTBOX_WAITING_HEADER))
        return view(*args, **kwargs)
    return wrapped


def _parse_time(value) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise BadRequest("scanned_at must be an ISO-8601 string")
    try:
        at = parse_time(value)
    except ValueError:
        raise BadRequest(f"scanned_at is not ISO-8601: {value[:40]!r}") from None
    problem = scan_time_problem(at, datetime.now(timezone.utc))
    if problem:
        raise BadRequest(problem)
    return at


def _text(data: dict, key: str, most: int, least: int = 0) -> str:
    """A string field (NUL bytes and lone surrogates are refused with the body:
    errors.CheckedRequest)."""
    value = data.get(key)
    if not isinstance(value, str) or not least <= len(value) <= most:
        raise BadRequest(f"{key} must be a string of {least}-{most} characters")
    return value


def parse_scan(data) -> ScanRequest:
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    nonce = _text(data, "nonce", 64, least=1)
    token = _text(data, "token", 4096)  # the text read from the QR, whatever it is
    direction = data.get("direction")
    if direction not in DIRECTIONS:
        raise BadRequest('direction must be "in" or "out"')
    temperature = data.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise BadRequest("temperature must be a number")
        if not TEMPERATURE_MIN <= float(temperature) <= TEMPERATURE_MAX:
            raise BadRequest(f"temperature must be between {TEMPERATURE_MIN:g} and "
                             f"{TEMPERATURE_MAX:g} °C")
        temperature = float(temperature)
    offline = data.get("offline_reason")
    if offline is not None and not isinstance(offline, str):
        raise BadRequest("offline_reason must be a string")
    # A guard id the service does not know (or not an int) is ignored, never a reason to
    # refuse the scan: the guard on duty at the gate is recorded instead.
    return ScanRequest(guard_id=valid_guard_id(data.get("guard_id")),
                       nonce=nonce, token=token, direction=direction,
                       scanned_at=_parse_time(data.get("scanned_at")),
                       temperature=temperature,
                       offline_reason=offline[:20] if isinstance(offline, str) else None)


@bp.post("/scans")
@device_required
def post_scan():
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("body is not valid JSON (Content-Type: application/json)")
    response, _created = perform_scan(g.device, parse_scan(data))
    return jsonify(response)


@bp.get("/gate/snapshot")
@device_required
def snapshot():
    """What a gate needs to judge passes while the network is down."""
    now = datetime.now(timezone.utc)
    etag = snapshot_etag(g.device, now)  # small queries; the body only when it changed
    if request.if_none_match.contains(etag):
        db.session.commit()  # the device's last seen
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    body = snapshot_body(g.device, now)
    db.session.commit()
    return Response(body, mimetype="application/json", headers={"ETag": f'"{etag}"'})


@bp.get("/ping")
@device_required
def ping():
    db.session.commit()  # the device's last seen
    return jsonify(ok=True, gate=g.device.gate.name, device=g.device.name,
                   server_time=datetime.now(timezone.utc).isoformat())


@bp.post("/enroll")
def enroll():
    """A gate laptop exchanges its one-time setup code for its token and the key ring."""
    from ..common import ratelimit
    from ..services.devices import redeem
    address = request.remote_addr or ""
    if ratelimit.over("enroll", address, current_app.config["ENROLL_LIMIT"]):
        abort(429)
    ratelimit.count("enroll", address)
    db.session.commit()  # counted even when the code is refused: that is what is throttled
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object with a code")
    code = _text(data, "code", 64, least=1)
    version = data.get("scanner_version")
    if version is not None and not isinstance(version, str):
        raise BadRequest("scanner_version must be a string")
    resp = jsonify(redeem(code, version))
    resp.headers["Cache-Control"] = "no-store"  # a device token and the signing keys
    return resp


@bp.get("/openapi.json")
def openapi():
    """The gate API described (OpenAPI 3.1): what a scanner, or a tester, may rely on."""
    from .openapi import SPEC
    return jsonify(SPEC)
from ..duty.views import api  # noqa: E402,F401  (gate duty's logbook and sign-on routes)
