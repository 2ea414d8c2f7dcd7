"""A live pass service in a thread and a real Chromium to drive it.

The Debian ``chromium`` is used through Playwright's driver (never
``playwright install``: a CI box or a gate office may have no internet).
"""
from __future__ import annotations

import io
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from helpers import chromium_path, need

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}}
LOCAL = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


@dataclass
class LiveServer:
    """The app served over real HTTP on 127.0.0.1 and a free port."""

    app: object
    url: str
    _server: object
    _thread: threading.Thread

    @classmethod
    def start(cls, workdir: Path, **config) -> "LiveServer":
        from gatepass.tokens import KeyRing
        keys = workdir / "keys"
        KeyRing.create_key(keys, "k1")
        app = create_app({
            "SECRET_KEY": "browser-" + uuid.uuid4().hex,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'live.db'}",
            "KEYS_DIR": str(keys),
            **config,
        })
        with app.app_context():
            db.create_all()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        return cls(app, f"http://127.0.0.1:{server.server_port}", server, thread)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def browser_server(workdir: Path, **config) -> LiveServer:
    """A live server for a browser test; without Chromium the test skips (fails in CI)."""
    need(chromium_path() is not None, "a Chromium browser (Debian package chromium)")
    return LiveServer.start(workdir, **config)


def launch(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


@contextmanager
def chromium():
    """The Debian Chromium through Playwright, closed after the block."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = launch(pw, chromium_path())
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, device: dict = DESK, **options):
    """A fresh context (no one logged in) on ``device`` (DESK, PHONE, ...), in Chinese on
    Beijing time, patient enough for a busy 2-core CI box."""
    context = browser.new_context(**device, **LOCAL, **options)
    context.set_default_timeout(15_000)
    return context


def add_user(username: str, role: str, password: str, display_name: str):
    """A staff account on the live server (inside its app context; the caller commits)."""
    from app.models import User
    u = User(username=username, role=role, display_name=display_name)
    u.set_password(password)
    db.session.add(u)
    return u


def log_in(page, base: str, username: str, password: str) -> None:
    """Through the real form: the page itself carries the CSRF token."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def decode_qr(png: bytes) -> list[str]:
    """Every QR code zxing finds in a screenshot, as text."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return [r.text for r in zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)]
