"""Gate logbook events the guard records with single keys (``POST /api/v1/events``: README.md
"Gate API (contract)" and docs/gate-duty.md).

The keys pick the event's closed-vocabulary field (a turn-away's reason, an incident's
type); the body is queued in the durable outbox like a scan and delivered exactly once by
its nonce.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Optional

from gatepass.wire import EVENT_KINDS, INCIDENT_TYPES, TURN_AWAY_REASONS

#: ``t`` then a digit: why someone was turned away (劝返).
TURN_AWAY_KEYS = dict(zip("12345", TURN_AWAY_REASONS))
TURN_AWAY_LABELS = {"outsider": "外来人员", "visitor_no_host": "访客无人接",
                    "outside_vehicle": "外来车辆", "refused_temperature": "拒测体温",
                    "other": "其他"}
#: ``x`` then a digit: what happened.
INCIDENT_KEYS = dict(zip("1234", INCIDENT_TYPES))
INCIDENT_LABELS = {"forced_entry": "冲卡闯卡", "abuse": "辱骂工作人员",
                   "refused_registration": "拒绝登记", "other": "其他"}
KIND_LABELS = {"turn_away": "劝返", "visitor": "访客", "courier": "快递", "vehicle": "车辆",
               "incident": "事件"}
MAX_NOTE = 500


def event_body(kind: str, fields: dict, note: str = "", guard_id: Optional[int] = None,
               at: Optional[datetime] = None) -> dict:
    """The POST body of one event, with a fresh nonce."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    body = {"nonce": uuid.uuid4().hex, "kind": kind,
            "at": (at or datetime.now(timezone.utc)).isoformat(timespec="milliseconds"),
            "note": (note or "")[:MAX_NOTE], **fields}
    if guard_id is not None:
        body["guard_id"] = guard_id
    return body


def describe(body: dict) -> str:
    """A few words for the guard's screen: 劝返·外来人员, 快递·3件, 事件·冲卡闯卡."""
    kind = body.get("kind", "")
    words = KIND_LABELS.get(kind, kind)
    if kind == "turn_away":
        words += "·" + TURN_AWAY_LABELS.get(body.get("reason", ""), "")
    elif kind == "incident":
        words += "·" + INCIDENT_LABELS.get(body.get("type", ""), "")
    elif kind == "courier" and body.get("parcels") is not None:
        words += f"·{body['parcels']}件"
    return words
