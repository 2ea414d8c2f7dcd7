"""The guard's window: the rendered screen shown with OpenCV, keys read from it; and the
screen saved as a PNG (``--save-screens``, the docs' pictures)."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .drawing import HEIGHT, WIDTH

WINDOW_NAME = "gatepass"


class Window:
    """The OpenCV window. ``key()`` returns the pressed key code or -1."""

    def __init__(self, fullscreen: bool = False):
        if "QT_QPA_FONTDIR" not in os.environ and os.path.isdir("/usr/share/fonts"):
            os.environ["QT_QPA_FONTDIR"] = "/usr/share/fonts"  # OpenCV's Qt ships no fonts
        # GUI_NORMAL: no Qt toolbar for a guard to zoom or pan by accident.
        cv2.namedWindow(WINDOW_NAME,
                        cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.resizeWindow(WINDOW_NAME, WIDTH, HEIGHT)
        if fullscreen:
            cv2.setWindowProperty(WINDOW_NAME, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)

    def show(self, image: np.ndarray, wait_ms: int = 1) -> int:
        cv2.imshow(WINDOW_NAME, image)
        return cv2.waitKey(wait_ms)

    def closed(self) -> bool:
        try:
            return cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(WINDOW_NAME)
        except cv2.error:
            pass


def save_png(image: np.ndarray, path: str | os.PathLike) -> None:
    ok, buf = cv2.imencode(".png", image)
    if ok:
        Path(path).write_bytes(buf.tobytes())
