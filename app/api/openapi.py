"""The gate API described as OpenAPI 3.1 (served at ``GET /api/v1/openapi.json``).

Written by hand from the README's "Gate API (contract)" and docs/gate-duty.md, kept true by tests/test_openapi.py, which validates
real responses against it and runs schemathesis over it. Request bodies allow extra
fields (an older service must accept a newer scanner); responses list what a scanner may
rely on.
"""
from __future__ import annotations

from gatepass.verdict import REASONS
from gatepass.wire import TEMPERATURE_MAX, TEMPERATURE_MIN

NO_NUL = "^[^\\u0000]*$"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _json(_ref("Error"), "refused: `error` is a stable code, `message` says why")

_ISO = {"type": "string", "format": "date-time"}
#: A guard id from a scanner: an id the service does not know, or one that is not an
#: integer, is ignored (never a reason to refuse a scan); the guard on duty is recorded.
_GUARD_ID = {"description": "the guard signed on at the scanner; anything that is not a "
                            "known guard's id is ignored and the guard on duty is recorded"}
#: An optional free-text field of a logbook event (a number is kept as its digits).
_TEXT = {"type": ["string", "number", "null"]}


def _choice(*values: str) -> dict:
    """An optional field with a closed vocabulary ("" or null: not given)."""
    return {"anyOf": [{"type": "string", "enum": [*values, ""]}, {"type": "null"}]}


_PARCELS = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 10000},
                      {"type": "string", "pattern": r"^\s*\d{1,5}\s*$"}, {"type": "null"}]}
_YES_NO = {"anyOf": [{"type": "boolean"}, {"type": "null"},
                     {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", ""]}]}
_EVENT_FIELDS = {
    "turn_away": {"reason": _choice("outsider", "visitor_no_host", "outside_vehicle",
                                    "refused_temperature", "other"), "plate": _TEXT},
    "visitor": {"name": _TEXT, "phone": _TEXT, "host_household": _TEXT, "purpose": _TEXT,
                "direction": _choice("in", "out")},
    "courier": {"company": _TEXT, "parcels": _PARCELS, "disinfected": _YES_NO,
                "handed_to": _TEXT},
    "vehicle": {"plate": _TEXT, "driver_phone": _TEXT, "reason": _TEXT,
                "direction": _choice("in", "out")},
    "incident": {"type": _choice("forced_entry", "abuse", "refused_registration", "other"),
                 "description": _TEXT},
}


def _event(kind: str, fields: dict) -> dict:
    return {"type": "object", "title": kind, "required": ["nonce", "kind", "at"],
            "properties": {
                "nonce": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL},
                "kind": {"type": "string", "const": kind},
                "at": _ISO, "note": {"type": ["string", "null"]}, "guard_id": _GUARD_ID,
                **fields}}


_ISO_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
#: Every reason code (gatepass/verdict.py REASONS); a scanner shows an unknown one as a plain
#: deny. OTHER_COMMUNITY: the pass's key belongs to another community of the sub-district
#: (nothing else of that pass is said). ONLINE_ONLY is the offline scanner's own (a
#: sub-district pass whose key only the service holds): the service never answers it.
_REASON = {"type": "string", "enum": list(REASONS),
           "description": "stable code: " + ", ".join(f"{c} ({en})" for c, (_zh, en)
                                                      in REASONS.items())}
_STATUS = {"type": "string", "enum": ["active", "suspended", "revoked"]}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                       "message_en": {"type": "string"}, "message_zh": {"type": "string"}},
    },
    "ScanRequest": {
        "type": "object", "required": ["nonce", "token", "direction", "scanned_at"],
        "properties": {
            "nonce": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL,
                      "description": "unique per device: a retry with the same body gets the "
                                     "first answer; another body with it gets 409"},
            "token": {"type": "string", "maxLength": 4096, "pattern": NO_NUL,
                      "description": "the text read from the QR, whatever it is"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "scanned_at": {**_ISO, "description": "when the scan happened; more than 5 minutes "
                                                  "ahead of the server or 90 days back is 400"},
            "temperature": {"type": ["number", "null"], "minimum": TEMPERATURE_MIN,
                            "maximum": TEMPERATURE_MAX},
            "offline_reason": {"type": ["string", "null"],
                               "description": "the reason the gate showed while offline "
                                              "(first 20 characters kept)"},
            "guard_id": _GUARD_ID,
        },
    },
    "Holder": {
        "type": ["object", "null"],
        "description": "display-safe: masked name, address, category",
        "properties": {"name": {"type": "string"}, "address": {"type": "string"},
                       "category": {"type": "string"}, "category_label": {"type": "string"},
                       "code": {"type": "string"}},
    },
    "ScanResult": {
        "type": "object",
        "required": ["allowed", "reason", "message", "message_en", "scan_id", "pass_id", "gate",
                     "direction", "holder"],
        "properties": {
            "allowed": {"type": "boolean"}, "reason": _REASON,
            "message": {"type": "string"}, "message_en": {"type": "string"},
            "scan_id": {"type": "integer"}, "pass_id": {"type": ["integer", "null"]},
            "gate": {"type": "string"}, "direction": {"type": "string", "enum": ["in", "out"]},
            "holder": _ref("Holder"),
        },
    },
    "Rule": {
        "type": "object", "required": ["hours", "gates", "anti_passback", "temperature_required"],
        "properties": {"hours": {"type": "string"},
                       "gates": {"type": "array", "items": {"type": "string"}},
                       "anti_passback": {"type": "boolean"},
                       "temperature_required": {"type": "boolean"}},
    },
    "Snapshot": {
        "type": "object",
        "required": ["gate", "retired_kids", "passes", "rules", "dynamic_max_age",
                     "fever_threshold", "community_kids", "online_only_kids"],
        "properties": {
            "gate": {"type": "string"},
            "retired_kids": {"type": "array", "items": {"type": "string"}},
            "community_kids": {
                "type": "object", "additionalProperties": {"type": "string"},
                "description": "key id -> community code, for the sub-district's other "
                               "communities (no secrets): their passes are OTHER_COMMUNITY"},
            "online_only_kids": {
                "type": "array", "items": {"type": "string"},
                "description": "the sub-district's key ids: its sub-district-wide passes are "
                               "verified by the service only (offline: ONLINE_ONLY)"},
            "passes": {
                "type": "object",
                "description": "pass id -> [serial, status, category, valid_from, valid_until, "
                               "no_exit]; no_exit (may not go out) is null or the fixed "
                               "marker 9999-01-01T00:00:00+00:00, never a real date",
                "additionalProperties": {
                    "type": "array", "minItems": 6, "maxItems": 6,
                    "prefixItems": [{"type": "integer"}, _STATUS, {"type": "string"},
                                    _ISO_OR_NULL, _ISO_OR_NULL, _ISO_OR_NULL]},
            },
            "rules": {"type": "object", "additionalProperties": _ref("Rule")},
            "dynamic_max_age": {"type": "integer"},
            "fever_threshold": {"type": "number"},
        },
    },
    "Ping": {
        "type": "object", "required": ["ok", "gate", "device", "server_time"],
        "properties": {"ok": {"const": True}, "gate": {"type": "string"},
                       "device": {"type": "string"}, "server_time": _ISO},
    },
    "EnrolRequest": {
        "type": "object", "required": ["code"],
        "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 64,
                                "pattern": NO_NUL,
                                "description": "the 32 characters after gatepass-enroll:"},
                       "scanner_version": {"type": "string"}},
    },
    "Key": {
        "type": "object", "required": ["kid", "secret", "created", "retired"],
        "properties": {"kid": {"type": "string"},
                       "secret": {"type": "string", "pattern": "^[0-9a-f]+$"},
                       "created": _ISO, "retired": _ISO_OR_NULL},
    },
    "Enrolment": {
        "type": "object",
        "required": ["device_id", "device_name", "gate", "device_token", "keys"],
        "properties": {"device_id": {"type": "integer"}, "device_name": {"type": "string"},
                       "gate": {"type": "string"}, "device_token": {"type": "string"},
                       "keys": {"type": "array", "items": _ref("Key"),
                                "description": "the gate's community's key ring only: never "
                                               "another community's, never the sub-district's"}},
    },
    # One schema per kind (kind is the discriminator); a key of another kind is ignored,
    # as is any key the service does not know (an older service, a newer scanner).
    "EventRequest": {
        "description": "Every kind's field is optional (a guard at 4 a.m. records what they "
                       "have): null or \"\" means not given, a number in a text field is "
                       "taken as its digits, and the gate page's form values (\"3\", "
                       "\"true\") are read as the number or yes/no they spell.",
        "oneOf": [_event(kind, fields) for kind, fields in _EVENT_FIELDS.items()],
        "discriminator": {"propertyName": "kind"},
    },
    "EventResult": {
        "type": "object", "required": ["event_id", "kind"],
        "properties": {"event_id": {"type": "integer"}, "kind": {"type": "string"}},
    },
    "SignOnRequest": {
        "type": "object", "required": ["pin"],
        "properties": {"pin": {"type": "string", "pattern": NO_NUL}},
    },
    "SignOn": {
        "type": "object", "required": ["guard", "shift", "handover"],
        "properties": {
            "guard": {"type": "object", "required": ["id", "name"],
                      "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
            "shift": {"type": ["object", "null"],
                      "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                     "starts_at": {"type": "string"},
                                     "ends_at": {"type": "string"}}},
            "handover": {"type": ["object", "null"],
                         "properties": {"id": {"type": "integer"}, "from": {"type": "string"},
                                        "at": _ISO, "summary": {"type": "object"},
                                        "note": {"type": "string"}}},
        },
    },
    "SignOffRequest": {
        "type": "object", "required": ["guard_id"],
        "properties": {"guard_id": {"type": "integer"}, "note": {"type": "string"},
                       "outbox_waiting": {"type": "integer", "minimum": 0}},
    },
    "SignOff": {
        "type": "object", "required": ["handover_id", "summary"],
        "properties": {"handover_id": {"type": "integer"}, "summary": {"type": "object"}},
    },
}

_SCANNER_HEADERS = [
    {"name": "X-Scanner-Version", "in": "header", "required": False,
     "schema": {"type": "string"}, "description": "scanner.__version__ (first 40 characters kept)"},
    {"name": "X-Outbox-Waiting", "in": "header", "required": False,
     "schema": {"type": "string"},
     "description": "rows in the scanner's outbox not yet delivered (an integer; anything "
                    "else is ignored)"},
]
_AUTH = [{"device": []}]
#: 401 without a valid device token; 503 (with Retry-After) while the database is unreachable.
_UNAUTHORIZED = {"401": ERROR, "503": ERROR}


def _post(summary: str, body: str, ok: dict, extra: dict | None = None, auth: bool = True,
          description: str = "") -> dict:
    op = {"summary": summary, "description": description,
          "requestBody": {"required": True,
                          "content": {"application/json": {"schema": _ref(body)}}},
          "responses": {"200": ok, "400": ERROR, **(extra or {})}}
    if auth:
        op["security"] = _AUTH
        op["parameters"] = _SCANNER_HEADERS
        op["responses"].update(_UNAUTHORIZED)
    else:
        op["security"] = []
        op["responses"]["503"] = ERROR
    return {"post": op}


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "gatepass gate API", "version": "1",
             "description": "What gate scanners call: scans, the offline snapshot, logbook "
                            "events, guards on duty, enrolment. Every authenticated request "
                            "carries the device's bearer token."},
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"device": {"type": "http", "scheme": "bearer",
                                       "description": "the device token (gd_…)"}},
        "schemas": SCHEMAS,
    },
    "paths": {
        "/api/v1/scans": _post(
            "Record one scan and get the authoritative verdict", "ScanRequest",
            _json(_ref("ScanResult"), "the verdict (also for a retry of the same nonce)"),
            {"409": ERROR},
            description="Exactly once per (device, nonce). A delivery later than 2 minutes "
                        "is not judged for anti-passback."),
        "/api/v1/gate/snapshot": {"get": {
            "summary": "What a gate needs to judge passes offline",
            "security": _AUTH,
            "parameters": _SCANNER_HEADERS + [
                {"name": "If-None-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}}],
            "responses": {"200": {**_json(_ref("Snapshot"), "the snapshot"),
                                  "headers": {"ETag": {"schema": {"type": "string"}}}},
                          "304": {"description": "unchanged since the ETag given"},
                          **_UNAUTHORIZED}}},
        "/api/v1/ping": {"get": {
            "summary": "Is the link up, and who am I", "security": _AUTH,
            "parameters": _SCANNER_HEADERS,
            "responses": {"200": _json(_ref("Ping"), "the device's gate and the server time"),
                          **_UNAUTHORIZED}}},
        "/api/v1/events": _post(
            "Record a gate logbook event (turn-away, visitor, courier, vehicle, incident)",
            "EventRequest", _json(_ref("EventResult"), "stored (or the same nonce again)")),
        "/api/v1/duty/sign-on": _post(
            "A guard signs on at the scanner with a PIN", "SignOnRequest",
            _json(_ref("SignOn"), "the guard, the shift and the last handover"),
            {"403": ERROR}),
        "/api/v1/duty/sign-off": _post(
            "A guard signs off and leaves a handover note", "SignOffRequest",
            _json(_ref("SignOff"), "the handover"), {"403": ERROR},
            description="403 NOT_ON_DUTY: the guard is not on duty at this device's gate."),
        "/api/v1/enroll": _post(
            "Exchange a one-time setup code for the device token and the key ring",
            "EnrolRequest", _json(_ref("Enrolment"), "the device's token and keys"),
            {"403": ERROR, "429": ERROR}, auth=False,
            description="The setup QR reads gatepass-enroll:<code>?server=<URL>; a code is "
                        "valid 10 minutes and works once."),
        "/api/v1/openapi.json": {"get": {
            "summary": "This description", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    },
}
