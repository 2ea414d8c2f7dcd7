"""A live pass service in its own process, a gate scanner process, and gate videos.

The scanner is tested the way it runs at a gate: a separate program talking
HTTP to a separate service, killed and restarted for real. The video is made
from the project's own QR renderings, printed-card-like and phone-like,
warped, blurred and noisy the way a 720p gate webcam sees them.
"""
from __future__ import annotations

import json
import os
import queue
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from gatepass import qrimage
from gatepass.categories import colour, label

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the service

SEED = textwrap.dedent('''
    import json, os, sys
    from datetime import datetime, timezone
    from app import create_app
    from app.extensions import db
    from app.models import Building, Household, Pass, Person
    from gatepass.tokens import KeyRing
    from app.services import devices, issuing

    spec = json.loads(sys.argv[1])
    app = create_app()
    out = {"passes": []}
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()                                     # what `flask --app app init-db` does
        keys = app.config["KEYS_DIR"]
        if not len(KeyRing.load(keys)):
            KeyRing.create_key(keys, "k1")
        b = Building(name="3号楼")
        db.session.add(b)
        for i, person in enumerate(spec["people"]):
            if person.get("rotate_before"):
                KeyRing.create_key(keys)               # later tokens are signed by the new key
            h = Household(building=b, unit=f"{i % 3 + 1}单元", room=f"{101 + i}")
            p = Person(name=person["name"], category=person.get("category", "resident"),
                       household=h, phone=f"1390000{i:04d}")
            db.session.add(p)
            db.session.flush()
            pa = issuing.issue_pass(p)
            db.session.flush()
            token = issuing.static_token(pa)
            dyn = issuing.dynamic_token(pa, datetime.now(timezone.utc))
            if person.get("status"):
                issuing.set_status(pa, person["status"])
            out["passes"].append({"id": pa.id, "token": token, "dynamic": dyn,
                                  "name": person["name"], "holder": pa.holder_summary()})
        device, token = devices.create_device(spec.get("gate", "东门"))
        db.session.commit()
        out["device_token"] = token
    print(json.dumps(out, ensure_ascii=False))
''')


@dataclass
class LiveService:
    """``flask run`` on a temp SQLite file and temp keys, on 127.0.0.1:<port>."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    seeded: dict = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.root / "service.db"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def device_token(self) -> str:
        return self.seeded["device_token"]

    @property
    def passes(self) -> list[dict]:
        return self.seeded["passes"]

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({"DATABASE_URL": f"sqlite:///{self.db_path}", "KEYS_DIR": str(self.keys),
                    "SECRET_KEY": "scanner-tests-" + self.root.name,
                    "DYNAMIC_TOKEN_MAX_AGE": "600", "PYTHONUNBUFFERED": "1",
                    # tests change rules behind the service's back (sqlite3): no cache
                    "RULES_CACHE_SECONDS": "0"})
        env.pop("FLASK_DEBUG", None)
        return env

    def seed(self, people: list[dict], gate: str = "东门") -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([PYTHON, "-c", SEED, json.dumps({"people": people, "gate": gate})],
                           cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        self.seeded = json.loads(r.stdout.strip().splitlines()[-1])
        return self.seeded

    def flask(self, *args: str) -> str:
        """Run an operator command, e.g. ``keys retire k1``."""
        r = subprocess.run([PYTHON, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                           env=self.env(), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stdout

    def start(self) -> "LiveService":
        # the service's log goes to a file: a pipe nobody reads fills up after 64 KB (a few
        # tracebacks of an outage) and then every request hangs on writing its log line
        with open(self.root / "service.log", "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-reload", "--no-debugger"],
                cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_text = (self.root / "service.log").read_text(errors="replace")
                raise RuntimeError("service died: " + log_text[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("service did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rows(self, sql: str, *params) -> list[dict]:
        """Rows of the service's database file, read straight from it (read-only)."""
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()

    def scans(self) -> list[dict]:
        """The service's scan log."""
        return self.rows("SELECT nonce, pass_id, direction, allowed, reason, raw_text,"
                         " temperature, offline_reason, device_id, guard_id FROM scans ORDER BY id")

    def events(self) -> list[dict]:
        """The service's gate logbook (``fields`` decoded)."""
        rows = self.rows("SELECT id, nonce, kind, gate_id, device_id, guard_id, note, fields"
                         " FROM gate_events ORDER BY id")
        for r in rows:
            r["fields"] = json.loads(r["fields"] or "{}")
        return rows

    def add_guard(self, name: str, pin: str) -> int:
        """``flask --app app duty guard NAME --pin PIN``; the new guard's id."""
        out = self.flask("duty", "guard", name, "--pin", pin)
        return int(out.split(":", 1)[0].split()[-1])  # "guard 3: 王师傅 (guard, PIN set)"


# --------------------------------------------------------------------------- the network

class GateLink:
    """The gate's network: a real TCP proxy from 127.0.0.1:<port> to the live service.

    ``down = True`` is the uplink failing: every open connection is cut and new ones are
    closed as soon as they arrive; ``down = False`` brings it back. The bytes pass through
    untouched (the answers are the real service's); the link keeps a copy of each HTTP
    request the scanner sends (method, path, headers, JSON body) in ``requests``, in the
    order they arrived, so a test can check what the scanner said on the wire.
    ``reply_delay`` seconds hold back each chunk of the service's answers (a slow uplink:
    the service answers after the scanner stopped waiting).
    """

    def __init__(self, upstream: str):
        from urllib.parse import urlsplit
        up = urlsplit(upstream)
        self.upstream = (up.hostname, up.port)
        self.down = False
        self.reply_delay = 0.0
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def posts(self, path: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]

    def __enter__(self) -> "GateLink":
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        for t in list(self._threads):
            t.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            if self.down:
                client.close()
                continue
            t = threading.Thread(target=self._pipe, args=(client,), daemon=True)
            t.start()
            self._threads.append(t)

    def _pipe(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        peer = {client: server, server: client}
        sel = selectors.DefaultSelector()
        for s in peer:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        sent = b""  # client -> service bytes not yet parsed into a request
        try:
            while not self._stopped.is_set() and not self.down:
                for key, _ in sel.select(timeout=0.1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.fileobj is server and self.reply_delay:
                        time.sleep(self.reply_delay)
                    peer[key.fileobj].setblocking(True)
                    peer[key.fileobj].sendall(data)
                    peer[key.fileobj].setblocking(False)
                    if key.fileobj is client:
                        sent = self._record(sent + data)
        except OSError:
            return
        finally:
            sel.close()
            client.close()
            server.close()

    def _record(self, buf: bytes) -> bytes:
        """Take every complete request off the front of ``buf``; return the rest."""
        while (end := buf.find(b"\r\n\r\n")) >= 0:
            head = buf[:end].decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
            length = int(headers.get("Content-Length", 0))
            if len(buf) < end + 4 + length:
                break
            raw, buf = buf[end + 4:end + 4 + length], buf[end + 4 + length:]
            method, target = head[0].split(" ")[:2]
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            with self._lock:
                self.requests.append({"method": method, "path": target.split("?")[0],
                                      "headers": headers, "body": body})
        return buf


# --------------------------------------------------------------------------- the scanner

class ScannerProcess:
    """``python -m scanner run --headless``, with stdin to type into and JSON lines out."""

    def __init__(self, server: str, device_token: str, source: str, outbox: Path, keys: Path,
                 *extra: str, stdin: bool = False):
        args = [PYTHON, "-m", "scanner", "run", "--server", server, "--device-token",
                device_token, "--source", source, "--headless", "--outbox", str(outbox),
                "--keys", str(keys), *extra]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE if stdin else None,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue = queue.Queue()
        self.verdicts: list[dict] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        err_q: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stderr, err_q), daemon=True).start()
        self._err_q = err_q

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line)
        q.put(None)

    def type(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def next_verdict(self, timeout: float = 20) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "scanner exited: " + self.errors()
        v = json.loads(line)
        self.verdicts.append(v)
        return v

    def scan(self, text: str, timeout: float = 20) -> dict:
        self.type(text)
        return self.next_verdict(timeout)

    def finish(self, timeout: float = 60) -> int:
        """Close stdin (if any), collect the remaining verdicts, return the exit code."""
        if self.proc.stdin:
            self.proc.stdin.close()
        rc = self.proc.wait(timeout=timeout)
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self.verdicts.append(json.loads(line))
        return rc

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def errors(self) -> str:
        while True:
            try:
                line = self._err_q.get_nowait()
            except queue.Empty:
                break
            if line:
                self.stderr.append(line)
        return "".join(self.stderr)[-3000:]


def outbox_states(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return dict(con.execute("SELECT state, COUNT(*) FROM scans GROUP BY state"))
    finally:
        con.close()


def copy_keys(service: LiveService, dest: Path) -> Path:
    """What an office does for a gate laptop: copy the key files over a cable."""
    shutil.copytree(service.keys, dest)
    return dest


# --------------------------------------------------------------------------- gate video

def _qr(text: str, box: int) -> Image.Image:
    from io import BytesIO
    return Image.open(BytesIO(qrimage.png(text, box_size=box))).convert("RGB")


def card_image(text: str, holder: dict | None = None) -> Image.Image:
    """A printed pass card: category colour band, name, address, the QR."""
    from scanner.drawing import font
    holder = holder or {}
    card = Image.new("RGB", (520, 330), (250, 250, 245))
    d = ImageDraw.Draw(card)
    d.rectangle((0, 0, 520, 58), fill=colour(holder.get("category", "resident")))
    d.text((18, 29), "幸福里社区 出入证", font=font(30), fill="white", anchor="lm")
    d.text((18, 100), holder.get("name", ""), font=font(34), fill="black", anchor="lm")
    d.text((18, 150), holder.get("address", ""), font=font(22), fill=(60, 60, 60), anchor="lm")
    d.text((18, 190), label(holder.get("category", "resident")), font=font(22), fill=(60, 60, 60),
           anchor="lm")
    q = _qr(text, 6).resize((250, 250), Image.NEAREST)
    card.paste(q, (262, 70))
    return card


def phone_image(text: str) -> Image.Image:
    """A phone showing the pass page: dark body, white screen, the QR in the middle."""
    from scanner.drawing import font
    phone = Image.new("RGB", (300, 560), (25, 25, 28))
    d = ImageDraw.Draw(phone)
    d.rectangle((14, 40, 286, 520), fill=(255, 255, 255))
    d.rectangle((14, 40, 286, 100), fill=(31, 122, 58))
    d.text((150, 70), "通行码", font=font(28), fill="white", anchor="mm")
    q = _qr(text, 6).resize((250, 250), Image.NEAREST)
    phone.paste(q, (25, 150))
    d.text((150, 440), "请向门岗出示", font=font(22), fill=(80, 80, 80), anchor="mm")
    return phone


def _background(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A dim gate at night: a gradient, two posts, a barrier arm."""
    y = np.linspace(0, 1, h)[:, None]
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = (40 + 50 * y)[..., None] * np.array([1.0, 1.05, 1.1])
    bg[:, 80:160] = (70, 75, 80)
    bg[:, w - 160:w - 80] = (70, 75, 80)
    bg[h - 260:h - 240, 160:w - 160] = (30, 60, 200)
    return (bg + rng.normal(0, 3, bg.shape)).clip(0, 255).astype(np.uint8)


def _paste_warped(frame: np.ndarray, obj: Image.Image, centre, width: float, tilt: float,
                  rng: np.random.Generator) -> None:
    """Paste ``obj`` with a perspective tilt (a hand holding it at an angle)."""
    src = np.array(cv2.cvtColor(np.asarray(obj), cv2.COLOR_RGB2BGR))
    h0, w0 = src.shape[:2]
    scale = width / w0
    w, h = w0 * scale, h0 * scale
    cx, cy = centre
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * (w, h)
    dst = np.float32([[cx - w / 2, cy - h / 2 + tilt], [cx + w / 2, cy - h / 2 - tilt],
                      [cx + w / 2, cy + h / 2 + tilt], [cx - w / 2, cy + h / 2 - tilt]]) + jitter
    fh, fw = frame.shape[:2]
    x0, y0 = np.floor(dst.min(axis=0)).astype(int).clip(0, (fw - 1, fh - 1))
    x1, y1 = np.ceil(dst.max(axis=0)).astype(int).clip(1, (fw, fh))
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w0, 0], [w0, h0], [0, h0]]),
                                    (dst - (x0, y0)).astype(np.float32))
    size = (int(x1 - x0), int(y1 - y0))  # warp only the box the object lands in
    warped = cv2.warpPerspective(src, m, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h0, w0), 255, np.uint8), m, size) > 127
    frame[y0:y1, x0:x1][mask] = warped[mask]


@dataclass
class Visitor:
    """One person in the queue and the QR text they hold up."""

    text: str
    style: str = "card"  # card | phone
    holder: dict | None = None


def make_gate_video(path: Path, visitors: list[Visitor], fps: int = 25, visible: int = 12,
                    gap: int = 8, seed: int = 4) -> int:
    """Write a 1280x720 MJPG video of a queue; returns the number of frames."""
    rng = np.random.default_rng(seed)
    w, h = 1280, 720
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "no MJPG writer"
    frames = 0
    background = _background(w, h, rng)
    noise = []  # sensor noise: a few precomputed patterns, added with saturation (fast)
    for _ in range(4):
        n = rng.normal(0, 4, (h, w, 3))
        noise.append((n.clip(0, 255).astype(np.uint8), (-n).clip(0, 255).astype(np.uint8)))

    def emit(frame):
        nonlocal frames
        plus, minus = noise[frames % len(noise)]
        writer.write(cv2.subtract(cv2.add(frame, plus), minus))
        frames += 1

    for _ in range(gap):
        emit(background.copy())
    for v in visitors:
        obj = phone_image(v.text) if v.style == "phone" else card_image(v.text, v.holder)
        width = 240 if v.style == "phone" else 400
        x, y = rng.uniform(520, 760), rng.uniform(400, 460)
        tilt = rng.uniform(-25, 25)
        for k in range(visible):
            frame = background.copy()
            # the holder: a dark silhouette behind the pass
            cv2.ellipse(frame, (int(x), int(y) + 260), (230, 330), 0, 0, 360, (35, 30, 30), -1)
            cv2.circle(frame, (int(x), int(y) - 170), 95, (90, 110, 140), -1)
            _paste_warped(frame, obj, (x + 3 * k, y + 2 * np.sin(k)), width, tilt, rng)
            frame = cv2.GaussianBlur(frame, (0, 0), 0.9 + 0.3 * (k % 3 == 0))
            emit(frame)
        for _ in range(gap):
            emit(background.copy())
    writer.release()
    return frames


def forge(token: str) -> str:
    """The same token with one signature character changed."""
    last = token[-3]
    return token[:-3] + ("A" if last != "A" else "B") + token[-2:]


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def new_nonce() -> str:
    return uuid.uuid4().hex


def family_frame(visitors: list[Visitor], seed: int = 7) -> np.ndarray:
    """One 1280x720 gate frame of two or three passes held up together (a family): cards
    and phones side by side, each tilted its own way, blurred and noisy like the video."""
    rng = np.random.default_rng(seed)
    frame = _background(1280, 720, rng)
    widths = [210 if v.style == "phone" else 330 for v in visitors]
    x = (1280 - sum(widths) - 50 * (len(visitors) - 1)) / 2  # side by side, 50 px apart
    for v, width in zip(visitors, widths):
        obj = phone_image(v.text) if v.style == "phone" else card_image(v.text, v.holder)
        _paste_warped(frame, obj, (x + width / 2, rng.uniform(360, 400)), width,
                      rng.uniform(-8, 8), rng)
        x += width + 50
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    return cv2.add(frame, rng.normal(0, 3, frame.shape).clip(0, 255).astype(np.uint8))


def make_family_video(path: Path, families: list[list[Visitor]], fps: int = 25,
                      visible: int = 12, gap: int = 8) -> int:
    """A queue video of families: each group's frame held for ``visible`` frames, empty
    gate between; returns the number of frames."""
    rng = np.random.default_rng(11)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (1280, 720))
    assert writer.isOpened(), "no MJPG writer"
    empty = _background(1280, 720, rng)
    frames = 0
    for k, family in enumerate(families):
        for _ in range(gap):
            writer.write(empty)
        still = family_frame(family, seed=20 + k)
        for _ in range(visible):
            writer.write(still)
        frames += gap + visible
    for _ in range(gap):
        writer.write(empty)
    writer.release()
    return frames + gap
