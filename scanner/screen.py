"""The guard's screen: one glance from two metres at 4 a.m. must be enough.

``render(frame, state)`` composes the whole picture as a BGR image (tests and
docs save it as PNG); ``Window`` (scanner/window.py) shows it and reads keys. The
primitives (fonts, colours, text that fits) are in scanner/drawing.py, the beeps
in scanner/sound.py.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw

from gatepass.categories import colour as category_colour
from gatepass.quarantine import FEVER_THRESHOLD

from .drawing import (ALLOW, DENY, HEIGHT, IDLE, MUTED, OFFLINE, PANEL, TEXT, WIDTH, draw_mark,
                      draw_text, font, hex_rgb, paste_camera)

#: A deny for want of a reading stays up while the guard measures (runner's prompt time).
TEMPERATURE_PROMPT_HOLD = 60.0

# --------------------------------------------------------------------------- state

@dataclass
class Shown:
    """A verdict as shown to the guard (and printed as a JSON line in headless mode)."""

    nonce: str
    text: str
    allowed: bool
    reason: str
    message: str
    holder: Optional[dict]
    offline: bool
    direction: str
    scanned_at: str
    source_index: int
    temperature: Optional[float] = None
    points: Optional[np.ndarray] = None
    signature_only: bool = False
    group: int = 1  # passes read in the same frame (a family), shown side by side
    group_index: int = 0  # 0: the worst of them, shown first

    def json(self) -> dict:
        return {"nonce": self.nonce, "text": self.text, "allowed": self.allowed,
                "reason": self.reason, "message": self.message, "holder": self.holder,
                "offline": self.offline, "direction": self.direction,
                "scanned_at": self.scanned_at, "source_index": self.source_index,
                "temperature": self.temperature, "group": self.group}


@dataclass
class ScreenState:
    direction: str = "in"
    gate: str = ""
    guard: str = ""
    online: Optional[bool] = None
    auth_failed: bool = False
    server_error: bool = False  # a streak of 5xx: reachable but not working
    pending: int = 0
    rejected: int = 0
    last: Optional[Shown] = None
    shown_at: float = 0.0  # time.monotonic() when ``last`` was shown
    hold: float = 4.0  # seconds a verdict stays up
    typed: str = ""  # digits being typed (temperature) or a wedge's text
    temperature: Optional[float] = None  # attached to the next scan
    notice: str = ""  # e.g. a late correction from the service, an event recorded
    notice_at: float = 0.0
    notice_secs: float = 30.0  # how long the notice stays
    mode: Optional[str] = None  # a key line being typed: turn_away, courier, sign_on... (MODES)
    awaiting_temperature: bool = False  # the last verdict was TEMPERATURE_REQUIRED
    handover: str = ""  # the previous shift's note, after signing on
    last_event: str = ""
    points: Optional[np.ndarray] = None  # outline of the code in view
    source_note: str = ""  # e.g. "扫码枪模式", "摄像头断开"
    now: Optional[datetime] = None  # clock shown; None: the local time
    history: list = field(default_factory=list)  # recent Shown, newest first
    group: list = field(default_factory=list)  # the verdicts of one frame, worst first

    def show(self, shown: "Shown", at: float | None = None) -> None:
        self.show_all([shown], at)

    def show_all(self, shown: list, at: float | None = None) -> None:
        """One verdict, or a family's side by side (``shown`` worst first)."""
        self.last, self.shown_at = shown[0], time.monotonic() if at is None else at
        self.group = list(shown) if len(shown) > 1 else []
        for one in reversed(shown):
            self.history.insert(0, one)
        del self.history[8:]

    def family(self, shown: Optional["Shown"]) -> list:
        """The family on screen with ``shown``, or [] for a single verdict."""
        return self.group if shown is not None and self.group and self.group[0] is shown else []

    def showing(self, at: float | None = None) -> Optional[Shown]:
        at = time.monotonic() if at is None else at
        hold = TEMPERATURE_PROMPT_HOLD if self.awaiting_temperature else self.hold
        return self.last if self.last and at - self.shown_at < hold else None


# --------------------------------------------------------------------------- drawing

LEFT_W = 800
BANNER_H = 380
CAM_BOX = (LEFT_W + 20, 20, WIDTH - LEFT_W - 40, (WIDTH - LEFT_W - 40) * 9 // 16)
_panel_cache: dict = {}


def render(frame: Optional[np.ndarray], state: ScreenState, at: float | None = None) -> np.ndarray:
    """The whole guard screen for one moment, 1280x720 BGR.

    Everything but the camera picture is drawn by Pillow into a panel that is
    cached until something on it changes (at most once a second, for the
    clock), so a live loop pays a copy and a resize per frame, not 50 ms of
    text rendering.
    """
    at = time.monotonic() if at is None else at
    shown = state.showing(at)
    now = state.now or datetime.now()
    notice = state.notice if state.notice and at - state.notice_at < state.notice_secs else ""
    family = state.family(shown)
    key = (None if shown is None else shown.json() | {"sig": shown.signature_only},
           tuple(repr(f.json()) for f in family), state.server_error,
           state.direction, state.gate, state.guard, state.online, state.auth_failed,
           state.pending, state.rejected, state.typed, state.temperature, notice,
           state.mode, state.awaiting_temperature,
           state.source_note if frame is None else "", now.strftime("%H:%M:%S"),
           tuple((h.allowed, h.message, (h.holder or {}).get("name"), h.scanned_at, h.offline)
                 for h in state.history))
    skey = repr(key)
    panel = _panel_cache.get(skey)
    if panel is None:
        panel = _draw_panel(shown, state, now, notice, frame is None)
        _panel_cache.clear()
        _panel_cache[skey] = panel
    canvas = panel.copy()
    if frame is not None:
        points = shown.points if shown is not None and shown.points is not None else state.points
        outlines = [f.points for f in family] if family else [points]
        paste_camera(canvas, frame, outlines, CAM_BOX)
    return canvas


def _local_hm(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")
    except (TypeError, ValueError):
        return ""


def _draw_panel(shown: Optional[Shown], state: ScreenState, now: datetime, notice: str,
                no_frame: bool) -> np.ndarray:
    """Everything but the camera picture; each part of the screen has its own painter."""
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    canvas[:] = PANEL[::-1]
    family = state.family(shown)
    bg = IDLE if shown is None else (ALLOW if shown.allowed else DENY)
    canvas[0:BANNER_H, 0:LEFT_W] = bg[::-1]
    x0, y0, cw, ch = CAM_BOX
    canvas[y0:y0 + ch, x0:x0 + cw] = (30, 30, 30)
    if family:
        _fill_family(canvas, family)
    elif shown is not None:
        draw_mark(canvas, shown.allowed, 130, 150, 95)

    img = Image.fromarray(canvas[:, :, ::-1])
    d = ImageDraw.Draw(img)
    if no_frame:
        draw_text(d, (x0 + cw // 2, y0 + ch // 2), state.source_note or "无画面", 40,
                  fill=MUTED, anchor="mm", max_width=cw - 40)
    if family:
        _paint_family(d, family)
    else:
        _paint_banner(d, shown)
    if state.mode:
        _paint_mode_prompt(d, state)
    elif family:
        pass  # each column carries its holder
    elif shown is not None and state.awaiting_temperature \
            and shown.reason == "TEMPERATURE_REQUIRED":
        _paint_temperature_prompt(d, state)
    elif shown is not None:
        _paint_holder(d, shown)
    else:
        _paint_legend(d)
    ty = _paint_direction(d, state)
    _paint_side_list(d, state, ty)
    _paint_status(d, state, now)
    if notice:
        _paint_notice(d, notice)
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


def _paint_banner(d: ImageDraw.ImageDraw, shown: Optional[Shown]) -> None:
    """The verdict in one word, its reason, and the amber badge when judged offline."""
    if shown is None:
        draw_text(d, (LEFT_W // 2, 150), "请出示通行码", 96, anchor="mm")
        draw_text(d, (LEFT_W // 2, 270), "Please show your pass", 40, fill=MUTED, anchor="mm")
        return
    word = "通过" if shown.allowed else "禁止"
    draw_text(d, (250, 150), word, 200, anchor="lm")
    badge_w = 0
    if shown.offline:
        badge_w = 230
        d.rounded_rectangle((LEFT_W - 250, BANNER_H - 90, LEFT_W - 20, BANNER_H - 20), 12,
                            fill=OFFLINE)
        draw_text(d, (LEFT_W - 135, BANNER_H - 55), "离线核验", 44, fill=(0, 0, 0), anchor="mm")
    message = shown.message if shown.message != word else "请通行"
    draw_text(d, (40, BANNER_H - 55), message, 56, anchor="lm",
              max_width=LEFT_W - 80 - badge_w - (20 if badge_w else 0))


#: A family's columns: coloured from the top down to here, the notice strip below.
FAMILY_H = HEIGHT - 110


def _family_columns(n: int) -> list[tuple[int, int]]:
    """(left, width) of each of ``n`` side-by-side verdict columns in the left panel."""
    width = LEFT_W // n
    return [(i * width, width - 8) for i in range(n)]


def _fill_family(canvas: np.ndarray, family: list[Shown]) -> None:
    """Each verdict its own column, green or red, with its ✓ or ✗; worst on the left."""
    canvas[0:FAMILY_H, 0:LEFT_W] = PANEL[::-1]
    for one, (x, w) in zip(family, _family_columns(len(family))):
        canvas[0:FAMILY_H, x:x + w] = (ALLOW if one.allowed else DENY)[::-1]
        draw_mark(canvas, one.allowed, x + w // 2, 85, 55)


def _paint_family(d: ImageDraw.ImageDraw, family: list[Shown]) -> None:
    """Two or three passes read together: verdict, reason and holder per column."""
    n = len(family)
    for k, (one, (x, w)) in enumerate(zip(family, _family_columns(n))):
        cx, holder = x + w // 2, one.holder or {}
        draw_text(d, (x + 12, 12), f"{k + 1}/{n}", 28, fill=TEXT)
        draw_text(d, (cx, 205), "通过" if one.allowed else "禁止", 96, anchor="mm")
        message = one.message if one.message not in ("通过", "禁止") else "请通行"
        draw_text(d, (cx, 290), message, 36, anchor="mm", max_width=w - 24)
        y = 340
        if one.offline:
            d.rounded_rectangle((cx - 90, y - 22, cx + 90, y + 22), 10, fill=OFFLINE)
            draw_text(d, (cx, y), "离线核验", 30, fill=(0, 0, 0), anchor="mm")
        for key, size in (("name", 56), ("address", 30), ("category_label", 30), ("code", 28)):
            y += size + 30 if key == "name" else size + 16
            if holder.get(key):
                draw_text(d, (cx, y), holder[key], size, anchor="mm", max_width=w - 24)
        if one.temperature is not None:
            draw_text(d, (cx, FAMILY_H - 30), f"{one.temperature:.1f}℃", 36, anchor="mm")


def _paint_holder(d: ImageDraw.ImageDraw, shown: Shown) -> None:
    """Who this pass should be, so the guard can compare with the face."""
    y = BANNER_H + 24
    holder = shown.holder or {}
    text_w = LEFT_W - 80
    if shown.temperature is not None:
        draw_text(d, (LEFT_W - 40, y), f"{shown.temperature:.1f}℃", 52, anchor="rt",
                  fill=DENY if shown.temperature >= FEVER_THRESHOLD else TEXT)
        text_w -= 190
    name = holder.get("name") or ""
    if name:
        draw_text(d, (40, y), name, 84, anchor="lt", max_width=text_w)
        y += 108
    addr = holder.get("address") or ""
    if addr:
        draw_text(d, (40, y), addr, 52, anchor="lt", max_width=text_w)
        y += 72
    cat = holder.get("category_label") or ""
    if cat:
        tw = d.textlength(cat, font=font(44))
        d.rounded_rectangle((40, y, 40 + tw + 40, y + 64), 10,
                            fill=hex_rgb(category_colour(holder.get("category") or "")))
        draw_text(d, (60, y + 32), cat, 44, anchor="lm")
        code = holder.get("code") or ""
        if code:
            draw_text(d, (40 + tw + 70, y + 32), code, 36, fill=MUTED, anchor="lm")
        y += 80
    if shown.signature_only:
        draw_text(d, (40, y), "新证未同步：仅核验签名，请核对本人", 36, fill=OFFLINE, anchor="lt")
    elif shown.allowed and shown.offline and not name:
        draw_text(d, (40, y), "离线：无姓名，请核对证件", 36, fill=OFFLINE, anchor="lt")


#: The key legend on the idle screen: (key cap, a word or two). Few words, big.
LEGEND = (("i / o", "进门 / 出门"), ("数字+回车", "体温"),
          ("t + 数字", "劝返"), ("c", "快递"),
          ("x + 数字", "事件"), ("g / s", "上岗 / 交班"))
MODE_PROMPTS = {
    "turn_away": ("劝返：按数字", ["1 外来人员", "2 访客无人接", "3 外来车辆", "4 拒测体温",
                                  "5 其他"]),
    "incident": ("事件：按数字", ["1 冲卡闯卡", "2 辱骂工作人员", "3 拒绝登记", "4 其他"]),
    "courier": ("快递：件数+回车", ["例 c3 回车 = 3件", "Esc 取消"]),
    "sign_on": ("上岗：PIN+回车", ["需要联网", "Esc 取消"]),
    "sign_off": ("交班：备注+回车", ["扫码枪可录备注", "Esc 取消"]),
}
KEYCAP = (60, 72, 80)


def _keycap(d: ImageDraw.ImageDraw, x: int, y: int, label: str, size: int = 34) -> int:
    """A key drawn as a rounded box with its label; returns its right edge."""
    w = int(d.textlength(label, font=font(size))) + 28
    d.rounded_rectangle((x, y, x + w, y + size + 22), 10, fill=KEYCAP, outline=MUTED, width=2)
    draw_text(d, (x + w // 2, y + (size + 22) // 2), label, size, anchor="mm")
    return x + w


def _paint_legend(d: ImageDraw.ImageDraw) -> None:
    """The keys, while nobody is at the gate: two columns of key caps and a word."""
    y0 = BANNER_H + 22
    for n, (cap, words) in enumerate(LEGEND):
        x = 40 + (n % 2) * 390
        y = y0 + (n // 2) * 76
        right = _keycap(d, x, y, cap)
        draw_text(d, (right + 16, y + 28), words, 38, anchor="lm", max_width=x + 380 - right - 16)


def _paint_mode_prompt(d: ImageDraw.ImageDraw, state: ScreenState) -> None:
    """What the key just pressed asks for (a reason's digit, parcels, the PIN)."""
    title, choices = MODE_PROMPTS.get(state.mode or "", ("", []))
    y = BANNER_H + 16
    d.rounded_rectangle((24, y, LEFT_W - 24, HEIGHT - 60), 16, fill=(40, 60, 90))
    draw_text(d, (48, y + 12), title, 52, anchor="lt", max_width=LEFT_W - 96)
    for n, line in enumerate(choices):
        draw_text(d, (48 + (n % 2) * 370, y + 84 + (n // 2) * 52), line, 40, anchor="lt",
                  max_width=350)


def _paint_temperature_prompt(d: ImageDraw.ImageDraw, state: ScreenState) -> None:
    """TEMPERATURE_REQUIRED: measure, type the reading, Enter: the same pass is judged
    again with it."""
    y = BANNER_H + 16
    d.rounded_rectangle((24, y, LEFT_W - 24, HEIGHT - 110), 16, fill=OFFLINE)
    draw_text(d, (LEFT_W // 2, y + 60), "请测体温", 76, fill=(0, 0, 0), anchor="mm")
    typed = state.typed if state.typed and state.typed[0].isdigit() else ""
    draw_text(d, (LEFT_W // 2, y + 150), f"读数+回车    {typed or '例 365'}", 48, fill=(0, 0, 0),
              anchor="mm", max_width=LEFT_W - 96)


def _paint_direction(d: ImageDraw.ImageDraw, state: ScreenState) -> int:
    """The direction under the camera, big, because the guard switches it; returns the y
    below it."""
    x0, y0, cw, ch = CAM_BOX
    rx, rw = LEFT_W + 20, WIDTH - LEFT_W - 40
    ry = y0 + ch + 24
    into = state.direction == "in"
    d.rounded_rectangle((rx, ry, rx + rw, ry + 150), 16,
                        fill=(25, 90, 160) if into else (150, 80, 10))
    draw_text(d, (rx + 30, ry + 75), "进" if into else "出", 120, anchor="lm")
    draw_text(d, (rx + 190, ry + 52), "进门" if into else "出门", 48, anchor="lm")
    draw_text(d, (rx + 190, ry + 108), "按 i / o 切换", 30, fill=(220, 230, 240), anchor="lm")
    return ry + 166


def _paint_side_list(d: ImageDraw.ImageDraw, state: ScreenState, ty: int) -> None:
    """What is being typed, then the last verdicts, newest first."""
    rx, rw = LEFT_W + 20, WIDTH - LEFT_W - 40
    if state.typed:
        buf = state.typed if len(state.typed) <= 16 else "…" + state.typed[-15:]
        draw_text(d, (rx, ty), f"输入: {buf}▏", 36, anchor="lt", max_width=rw)
        ty += 48
    elif state.temperature is not None:
        draw_text(d, (rx, ty), f"下一位体温 {state.temperature:.1f}℃", 36, anchor="lt", max_width=rw)
        ty += 48
    for h in list(state.history)[:max(0, (HEIGHT - 60 - ty) // 38)]:
        who = (h.holder or {}).get("name") or (h.holder or {}).get("category_label") or ""
        verdict = ("通过" if h.allowed else h.message) + ("（离线）" if h.offline else "")
        line = f"{_local_hm(h.scanned_at)} {who} {verdict}"
        draw_text(d, (rx, ty), line, 28, fill=(140, 220, 150) if h.allowed else (255, 140, 130),
                  anchor="lt", max_width=rw)
        ty += 38


def link_label(state: ScreenState) -> tuple[str, tuple[int, int, int]]:
    """The status line's word for the link, and its colour: a service that answers every
    post with a 5xx is not 在线, whatever the network says."""
    if state.auth_failed:
        return "设备令牌无效", DENY
    if state.server_error:
        return "服务器异常", DENY
    if state.online is None:
        return "连接中", MUTED
    return ("在线", (76, 175, 80)) if state.online else ("离线", OFFLINE)


def _paint_status(d: ImageDraw.ImageDraw, state: ScreenState, now: datetime) -> None:
    """The bottom line: link, scans waiting, gate, direction, guard, clock."""
    sy = HEIGHT - 48
    d.rectangle((0, sy, WIDTH, HEIGHT), fill=(0, 0, 0))
    link, link_fill = link_label(state)
    d.ellipse((16, sy + 12, 40, sy + 36), fill=link_fill)
    draw_text(d, (50, sy + 24), link, 30, fill=link_fill, anchor="lm")
    parts = [f"待上传 {state.pending}"]
    if state.rejected:
        parts.append(f"被拒 {state.rejected}")
    parts += [state.gate or "未知门岗", "进门" if state.direction == "in" else "出门"]
    parts.append(f"值班 {state.guard}" if state.guard else "未上岗（按 g）")
    lx = 50 + int(d.textlength(link, font=font(30))) + 40
    draw_text(d, (lx, sy + 24), "   ".join(parts), 30, anchor="lm", max_width=WIDTH - lx - 160)
    draw_text(d, (WIDTH - 16, sy + 24), now.strftime("%H:%M:%S"), 30, anchor="rm")


def _paint_notice(d: ImageDraw.ImageDraw, notice: str) -> None:
    """A strip above the status line, e.g. a late correction from the service."""
    sy = HEIGHT - 48
    d.rectangle((0, sy - 50, WIDTH, sy), fill=(120, 80, 0))
    draw_text(d, (16, sy - 25), notice, 30, anchor="lm", max_width=WIDTH - 32)
