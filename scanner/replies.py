"""What a reply means for an outbox row: a *receipt* (the contract's fields with the
contract's types, cleaned for the screen) or an outcome (auth, rejected, link).

Anything the network hands back is judged here, in one place: a captive portal's page,
``{}``, a redirect or a 200 without the promised fields is never a receipt.
"""
from __future__ import annotations

from typing import Optional

from gatepass.wire import LINK_ERROR_STATUSES, RETRY_STATUSES


def _holder(value) -> Optional[dict]:
    """The holder as the screen shows it: an object of short strings, or None."""
    if not isinstance(value, dict):
        return None
    return {str(k)[:40]: v[:200] for k, v in value.items()
            if isinstance(v, str)} or None


def receipt(kind: str, data: Optional[dict]) -> Optional[dict]:
    """The reply as a receipt for a row of ``kind``, cleaned to the contract's types; None
    when it is not one (so the row stays pending)."""
    if not isinstance(data, dict):
        return None
    if kind == "event":
        event_id = data.get("event_id")
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            return None
        return {"event_id": event_id, "kind": str(data.get("kind") or "")[:40]}
    scan_id, reason = data.get("scan_id"), data.get("reason")
    if not isinstance(scan_id, int) or isinstance(scan_id, bool) or not isinstance(reason, str):
        return None
    out = {"scan_id": scan_id, "reason": reason[:64], "allowed": data.get("allowed") is True,
           "holder": _holder(data.get("holder"))}
    for key in ("message", "message_en", "gate", "direction"):
        value = data.get(key)
        out[key] = value[:300] if isinstance(value, str) else ""
    return out


def outcome(status: int) -> str:
    """What a reply without a receipt means for the row: 'auth' (a token problem, retried
    slowly), 'rejected' (the service named the row as bad) or 'link' (retry with backoff)."""
    if status == 401:
        return "auth"
    if 400 <= status < 500 and status not in RETRY_STATUSES | LINK_ERROR_STATUSES:
        return "rejected"
    return "link"  # no answer, 3xx, 403/404/405, 408/429, 5xx, a 200 without a receipt
