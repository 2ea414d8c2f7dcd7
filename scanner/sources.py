"""Where scans come from: a webcam, a video file, photos, or a hand scanner's lines.

Every source is an iterator of ``Item``: a camera frame to decode, or a text a
USB "keyboard wedge" hand scanner already decoded. Live sources (camera,
stdin) also yield ``None`` when nothing new arrived for a moment, so the
guard's window keeps answering keys while nobody is at the gate.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional

import cv2
import numpy as np

#: What a folder of pictures may hold, for `run --source DIR`, `decode DIR` and `bench`.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
#: How long a live source waits for something new before yielding ``None``.
IDLE_TICK = 0.05


@dataclass
class Item:
    """One frame or one text. ``index``: frame number or line number, for logs.

    ``t`` is the source's own clock in seconds (video time for a file,
    ``time.monotonic()`` for live sources): the per-pass cooldown runs on it,
    so a video decoded faster or slower than real time still posts each pass
    once.
    """

    index: int
    t: float
    frame: Optional[np.ndarray] = None
    text: Optional[str] = None


class Source:
    finite = True
    name = "source"

    def __iter__(self) -> Iterator[Optional[Item]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def read_image(path: Path) -> Optional[np.ndarray]:
    """The image as a camera would hand it over (BGR), or None when it cannot be read.

    Read as bytes and decoded (cv2.imread cannot open non-ASCII paths everywhere), OpenCV
    first (what the camera path uses); Pillow for the formats OpenCV cannot open
    (TGA, PCX, ICO, ...), so a screenshot in an odd format is still checked.
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is not None:
        return image
    try:
        from PIL import Image

        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    except Exception:  # noqa: BLE001 - not an image, truncated, unsupported: all "unreadable"
        return None


class ImageSource(Source):
    """One photo or a folder of photos, in sorted name order (unreadable ones skipped)."""

    def __init__(self, path: Path):
        path = Path(path)
        if path.is_dir():
            self.paths = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            self.paths = [path]
        self.name = str(path)

    def __iter__(self):
        start = time.monotonic()
        for i, p in enumerate(self.paths):
            frame = read_image(p)
            if frame is not None:
                yield Item(index=i, t=time.monotonic() - start, frame=frame)


class VideoSource(Source):
    """Every frame of a video file, in order, none skipped: tests count on it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = str(path)
        self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            raise OSError(f"cannot open video {self.path}")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else 25.0

    def __iter__(self):
        i = 0
        while True:
            ok, frame = self.cap.read()
            if not ok:
                return
            yield Item(index=i, t=i / self.fps, frame=frame)
            i += 1

    def close(self):
        self.cap.release()


class CameraSource(Source):
    """A webcam, read on its own thread that keeps only the newest frame.

    Decoding a hard frame can take longer than the camera's frame interval;
    reading on the loop's thread would then hand us ever older frames from
    the driver's queue. Here the loop always gets the latest picture, and a
    camera unplugged at 4 a.m. is reopened instead of ending the program.
    """

    finite = False

    def __init__(self, index: int | str, width: int = 1280, height: int = 720):
        """``index``: a webcam number, or the URL of an IP camera (rtsp://...)."""
        self.index, self.width, self.height = index, width, height
        self.name = f"camera {index}"
        self._cond = threading.Condition()
        self._frame: Optional[np.ndarray] = None
        self._seq = 0
        self._halt = threading.Event()
        self.status = "opening"  # opening | ok | lost
        self._cap = self._open()
        if self._cap is None:
            raise OSError(f"cannot open camera {index}")
        self._thread = threading.Thread(target=self._grab, name="camera", daemon=True)
        self._thread.start()

    def _open(self):
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            return None
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return cap

    def _grab(self):
        failures = 0
        while not self._halt.is_set():
            ok, frame = (self._cap.read() if self._cap is not None else (False, None))
            if ok and frame is not None:
                failures = 0
                self.status = "ok"
                with self._cond:
                    self._frame, self._seq = frame, self._seq + 1
                    self._cond.notify_all()
                continue
            failures += 1
            if failures >= 10:  # unplugged or driver hiccup: reopen, gently
                self.status = "lost"
                if self._cap is not None:
                    self._cap.release()
                self._halt.wait(1.0)
                self._cap = self._open()
                failures = 0
            else:
                self._halt.wait(0.02)

    def __iter__(self):
        seen = 0
        while not self._halt.is_set():
            with self._cond:
                if self._seq == seen:
                    self._cond.wait(IDLE_TICK)
                if self._seq == seen:
                    frame = None
                else:
                    frame, seen = self._frame, self._seq
            yield Item(index=seen, t=time.monotonic(), frame=frame) if frame is not None else None

    def close(self):
        self._halt.set()
        self._thread.join(timeout=2)
        if self._cap is not None:
            self._cap.release()


class LineSource(Source):
    """Lines of text, e.g. a keyboard-wedge hand scanner typing into stdin.

    Read on a thread so a window stays responsive between scans; blank lines
    are skipped, ``index`` is the 1-based line number.
    """

    def __init__(self, stream: IO[str], name: str = "stdin"):
        self.stream = stream
        self.name = name
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name="lines", daemon=True).start()

    def _read(self):
        try:
            for n, line in enumerate(self.stream, start=1):
                self._q.put((n, line))
        except (OSError, ValueError):
            pass
        self._q.put(None)

    def __iter__(self):
        while True:
            try:
                got = self._q.get(timeout=IDLE_TICK)
            except queue.Empty:
                yield None
                continue
            if got is None:
                return
            n, line = got
            text = line.rstrip("\r\n").strip()
            if text:
                yield Item(index=n, t=time.monotonic(), text=text)


def open_source(spec: str) -> Source:
    """``0`` camera index or an rtsp:// URL, ``-`` stdin lines, a folder or image, else a
    video file."""
    spec = str(spec)
    if spec == "-":
        stream = sys.stdin
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):
                pass
        return LineSource(stream)
    if spec.isdigit():
        return CameraSource(int(spec))
    if spec.startswith(("rtsp://", "http://", "https://")):
        return CameraSource(spec)  # an IP camera over the gate's network
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"no such source: {spec}")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoSource(path)
