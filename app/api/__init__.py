"""The gate API: scanner laptops post scans and fetch the offline snapshot."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import wraps

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import BadRequest

from ..extensions import csrf, db
from gatepass.wire import TEMPERATURE_MAX, TEMPERATURE_MIN, parse_time
from ..services.checkin import ScanRequest, perform_scan
from ..services.issuing import device_for_token
from ..services.duty import valid_guard_id
from ..services.snapshot import gate_snapshot

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
        return view(*args, **kwargs)
    return wrapped


def _parse_time(value) -> datetime:
    if not isinstance(value, str):
        raise BadRequest("scanned_at must be an ISO-8601 string")
    try:
        return parse_time(value)
    except ValueError:
        raise BadRequest(f"scanned_at is not ISO-8601: {value[:40]!r}") from None


def parse_scan(data) -> ScanRequest:
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    nonce, token, direction = data.get("nonce"), data.get("token"), data.get("direction")
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= 64:
        raise BadRequest("nonce must be a string of 1-64 characters")
    if not isinstance(token, str):
        raise BadRequest("token must be a string (the text read from the QR)")
    if len(token) > 4096:
        raise BadRequest("token longer than 4096 characters")
    if direction not in ("in", "out"):
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
    body = json.dumps(gate_snapshot(g.device), ensure_ascii=False, sort_keys=True, default=str)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    g.device.last_seen_at = datetime.now(timezone.utc)
    db.session.commit()
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return Response(body, mimetype="application/json", headers={"ETag": f'"{etag}"'})


@bp.get("/ping")
@device_required
def ping():
    return jsonify(ok=True, gate=g.device.gate.name, device=g.device.name,
                   server_time=datetime.now(timezone.utc).isoformat())


from . import duty  # noqa: E402,F401  (the logbook and duty routes on this blueprint)
