"""Guard duty at the scanner: sign on with a PIN, sign off with a note for the next shift.

Both need the service (the PIN is checked there; scans do not need it), so they are asked
on a thread of their own and the guard's screen keeps drawing while they wait.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

from gatepass.wire import DUTY_SIGN_OFF_PATH, DUTY_SIGN_ON_PATH, parse_time

from .client import ServiceClient
from .outbox import Outbox

log = logging.getLogger("scanner")

#: Sign-on and sign-off wait this long for the service (they need it; scans do not).
DUTY_TIMEOUT = 3.0


class Duty:
    """Who is on duty at this scanner (``guard_id`` goes with every scan and event), and
    the two requests that change it."""

    def __init__(self, client: ServiceClient, outbox: Outbox):
        self.client, self.outbox = client, outbox
        self.guard_id: Optional[int] = None

    def sign_on(self, pin: str) -> dict:
        """POST the PIN; {"ok": True, "guard", "handover"} or {"ok": False, "error"}."""
        reply = self.client.post(DUTY_SIGN_ON_PATH, {"pin": pin}, DUTY_TIMEOUT)
        if reply.status == 0:
            return {"ok": False, "error": "上岗需要联网，请稍后再试（扫码照常）",
                    "offline": True}
        guard = (reply.data or {}).get("guard") if reply.status == 200 else None
        if not isinstance(guard, dict) or not isinstance(guard.get("id"), int) \
                or isinstance(guard.get("id"), bool) or not isinstance(guard.get("name"), str):
            said = _service_says(reply.data)
            if reply.status == 403:
                # the service's words: a wrong PIN, or too many wrong PINs (locked for a
                # while: "retype" would only keep the guard locked out)
                return {"ok": False, "error": said or "PIN 不对，请重输"}
            return {"ok": False, "error": f"上岗失败：{said or reply.error or reply.status}"}
        self.guard_id = guard["id"]
        handover = (reply.data or {}).get("handover")
        return {"ok": True, "guard": {"id": guard["id"], "name": guard["name"][:40]},
                "handover": _handover_text(handover)}

    def sign_off(self, note: str) -> dict:
        if self.guard_id is None:
            return {"ok": False, "error": "还没有人上岗（按 g 上岗）"}
        body = {"guard_id": self.guard_id, "note": note[:500],
                "outbox_waiting": self.outbox.pending_count()}
        reply = self.client.post(DUTY_SIGN_OFF_PATH, body, DUTY_TIMEOUT)
        handover_id = (reply.data or {}).get("handover_id") if reply.status == 200 else None
        if reply.status == 0:
            return {"ok": False, "error": "交班需要联网，请稍后再试", "offline": True}
        if not isinstance(handover_id, int) or isinstance(handover_id, bool):
            why = _service_says(reply.data) or reply.error or reply.status
            return {"ok": False, "error": f"交班失败：{why}"}
        self.guard_id = None
        return {"ok": True, "handover_id": handover_id}


def _service_says(data) -> str:
    """Why the service refused, for the gate screen: its Chinese words (``message_zh``)
    when it gives them, else ``message`` (the service's errors put English there)."""
    data = data if isinstance(data, dict) else {}
    for key in ("message_zh", "message"):
        if isinstance(data.get(key), str) and data[key].strip():
            return data[key].strip()[:80]
    return ""


def _handover_text(handover) -> str:
    """The previous shift's note in one line: 上一班 王师傅 22:00：东侧栏杆松了."""
    if not isinstance(handover, dict):
        return ""
    who = handover.get("from") if isinstance(handover.get("from"), str) else ""
    note = handover.get("note") if isinstance(handover.get("note"), str) else ""
    at = _local_hm(handover.get("at")) if isinstance(handover.get("at"), str) else ""
    return f"上一班 {who} {at} 交班：{note or '无备注'}".replace("  ", " ")


def _local_hm(iso: str) -> str:
    try:
        return parse_time(iso).astimezone().strftime("%H:%M")
    except (TypeError, ValueError):
        return ""



class DutyDesk:
    """The runner's side of duty: one request at a time on the duty thread; the outcome
    goes to the notice strip, the screen's status line and the headless JSON lines."""

    def __init__(self, duty: Duty, state, notice: Callable[[str, float], None],
                 emit: Callable[[dict], None]):
        self.duty, self.state, self._notice, self._emit = duty, state, notice, emit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duty")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)  # a sign-off in flight ends by its deadline

    def sign_on(self, pin: str) -> None:
        """Needs the service: asked on the duty thread so the screen keeps drawing."""
        self._notice("正在上岗…", DUTY_TIMEOUT + 1)
        self._pool.submit(self._duty_task, self._signed_on, pin)

    def _duty_task(self, task, arg: str) -> None:
        try:
            task(arg)
        except Exception:  # noqa: BLE001 - a bug here must not go unseen, nor stop scans
            log.exception("duty request failed")
            self._notice("上岗/交班失败，请重试", 20)

    def _signed_on(self, pin: str) -> None:
        got = self.duty.sign_on(pin)
        if got["ok"]:
            self.state.guard = got["guard"]["name"]
            self.state.handover = got["handover"]
            self._notice(f"{got['guard']['name']} 已上岗" +
                         (f"    {got['handover']}" if got["handover"] else ""), 120)
        else:
            self._notice(got["error"], 20)
        self._emit({"type": "sign_on", **got})

    def sign_off(self, note: str) -> None:
        self._notice("正在交班…", DUTY_TIMEOUT + 1)
        self._pool.submit(self._duty_task, self._signed_off, note)

    def _signed_off(self, note: str) -> None:
        got = self.duty.sign_off(note)
        if got["ok"]:
            self._notice(f"{self.state.guard} 已交班", 20)
            self.state.guard, self.state.handover = "", ""
        else:
            self._notice(got["error"], 20)
        self._emit({"type": "sign_off", **got})

    # -- the loop ----------------------------------------------------------------
