"""Drawing primitives of the guard's screen: colours, a font with Chinese glyphs, text that
shrinks to fit, the camera picture, the ✓/✗ mark.

Chinese text is drawn with Pillow, because OpenCV's own fonts have no CJK glyphs.
"""
from __future__ import annotations

import glob
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np
from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1280, 720

# Colours (RGB, for Pillow). Green and red are deep enough for white text
# to stay readable on a dim laptop screen; the words and the ✓/✗ carry the
# verdict too, for colour-blind guards.
ALLOW = (20, 135, 60)
DENY = (200, 30, 30)
IDLE = (38, 50, 56)
OFFLINE = (255, 193, 7)
PANEL = (18, 22, 26)
TEXT = (245, 245, 245)
MUTED = (170, 180, 186)

FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/**/NotoSansCJK*.ttc",
    "/usr/share/fonts/**/NotoSansSC*.[ot]tf",
    "/usr/share/fonts/**/wqy*.tt[cf]",
    "/usr/share/fonts/**/DroidSansFallback*.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.tt[cf]",
)


@lru_cache(maxsize=1)
def find_font() -> tuple[Optional[str], int]:
    """(path, face index) of a font with Simplified Chinese glyphs, or (None, 0)."""
    for pattern in FONT_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if not path.endswith(".ttc"):
                return path, 0
            for index in range(10):  # a .ttc holds JP, KR, SC, TC...: pick SC
                try:
                    name = ImageFont.truetype(path, 12, index=index).getname()[0]
                except OSError:
                    break
                if "SC" in name.split() and "Mono" not in name:
                    return path, index
            return path, 0
    return None, 0


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.ImageFont:
    path, index = find_font()
    if path:
        try:
            return ImageFont.truetype(path, size, index=index)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size)  # no CJK glyphs, but never a crash
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def draw_text(draw: ImageDraw.ImageDraw, xy, text: str, size: int, fill=TEXT, anchor="la",
              max_width: int | None = None) -> None:
    """Draw text, shrinking it until it fits ``max_width``: long addresses must not overflow."""
    f = font(size)
    while max_width and size > 14 and draw.textlength(text, font=f) > max_width:
        size = int(size * 0.9)
        f = font(size)
    draw.text(xy, text, font=f, fill=fill, anchor=anchor)


def paste_camera(canvas: np.ndarray, frame: Optional[np.ndarray], outlines, box) -> None:
    """The camera picture scaled into ``box``, each code in ``outlines`` (corner points, or
    None) traced in yellow so the guard can aim a wobbly phone."""
    x0, y0, w, h = box
    if frame is None or not isinstance(frame, np.ndarray) or frame.size == 0:
        canvas[y0:y0 + h, x0:x0 + w] = (30, 30, 30)
        return
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    fh, fw = frame.shape[:2]
    s = min(w / fw, h / fh)
    nw, nh = max(1, int(fw * s)), max(1, int(fh * s))
    small = cv2.resize(frame[:, :, :3], (nw, nh), interpolation=cv2.INTER_AREA)
    canvas[y0:y0 + h, x0:x0 + w] = (0, 0, 0)
    ox, oy = x0 + (w - nw) // 2, y0 + (h - nh) // 2
    canvas[oy:oy + nh, ox:ox + nw] = small
    for points in outlines:
        if points is not None:
            pts = np.asarray(points, dtype=np.float32).reshape(-1, 2) * s + (ox, oy)
            cv2.polylines(canvas, [pts.astype(np.int32)], True, (0, 255, 255), 4, cv2.LINE_AA)


def draw_mark(canvas: np.ndarray, allowed: bool, cx: int, cy: int, r: int) -> None:
    """A ✓ or ✗ drawn with lines: readable even without a font."""
    white = (255, 255, 255)
    t = max(6, r // 4)
    if allowed:
        pts = np.array([[cx - r, cy], [cx - r // 3, cy + int(r * 0.7)],
                        [cx + r, cy - int(r * 0.7)]])
        cv2.polylines(canvas, [pts.astype(np.int32)], False, white, t, cv2.LINE_AA)
    else:
        d = int(r * 0.75)
        cv2.line(canvas, (cx - d, cy - d), (cx + d, cy + d), white, t, cv2.LINE_AA)
        cv2.line(canvas, (cx - d, cy + d), (cx + d, cy - d), white, t, cv2.LINE_AA)


def hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
