"""The production server: gunicorn with the repo's gunicorn.conf.py, behind a proxy.

Runs the real gunicorn on a free port (two workers), so the access log, ProxyFix and
the redaction of resident links are what a deployment gets.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.other_process]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_gunicorn(tmp_path, **extra_env):
    """The real gunicorn with the repo's gunicorn.conf.py on a free port: (url, log, proc, env)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'gp.db'}",
           "KEYS_DIR": str(tmp_path / "keys"), "GATEPASS_INSTANCE": str(tmp_path / "inst"),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "PROXY_FIX_HOPS": "1", **extra_env}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run(flask + ["init-db"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(flask + ["keys", "create"], env=env, check=True, capture_output=True, cwd=ROOT)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                 "app:create_app()"], cwd=ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/login", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(log.read_text())
        # every worker up, not only the one that answered: while the other is still
        # importing the app, this one takes every connection (and every idle socket)
        workers = int(env["GUNICORN_WORKERS"])
        for _ in range(300):
            if log.read_text().count("Worker ready") >= workers:
                break
            time.sleep(0.1)
        else:
            pytest.fail(log.read_text())
        yield url, log, proc, env
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def gunicorn(tmp_path):
    with running_gunicorn(tmp_path) as (url, log, proc, _env):
        yield url, log, proc


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_access_log_never_holds_a_resident_link_secret(gunicorn):
    url, log, proc = gunicorn
    secret = "eyJzZWNyZXQiOjEyM30.SECRETPART-abc"
    get(f"{url}/p/{secret}", {"Referer": f"{url}/p/{secret}/qr.json"})
    get(f"{url}/p/{secret}/qr.json?x={secret}")
    get(f"{url}/register/{secret}")  # a gate poster's link
    get(f"{url}/register/status/{secret}")  # an arrival's status link (shows their pass link)
    get(f"{url}/login", {"X-Forwarded-For": "203.0.113.9"})
    time.sleep(0.5)
    text = log.read_text()
    assert "SECRETPART" not in text, text
    assert re.search(r'"GET /p/…/qr.json" 404', text), text
    assert re.search(r'"GET /register/status/…" 404', text) and re.search(r'"GET /register/…" 404', text), text
    assert "203.0.113.9" in text  # the client's address, from the proxy


@pytest.mark.serial  # timing: run alone (make test)
def test_graceful_reload_keeps_serving(gunicorn):
    url, log, proc = gunicorn
    import signal
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    ok = 0
    while time.monotonic() < deadline and ok < 20:
        status, _h, _b = get(f"{url}/login")
        ok += status == 200
    assert ok == 20
    assert "Handling signal: hup" in log.read_text()


def test_proxy_fix_is_config_driven(tmp_path):
    """Behind one proxy (PROXY_FIX_HOPS=1) the setup QR names the public https address and
    the audit log the client's address; without it, forwarded headers are ignored."""
    import html
    import uuid as _uuid

    from app import create_app
    from app.extensions import db
    from app.models import AuditEntry, User
    from gatepass.tokens import KeyRing
    from helpers import csrf_token

    KeyRing.create_key(tmp_path / "keys", "k1")
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "pass.example.org"}
    results = {}
    for hops in (0, 1):
        app = create_app({"TESTING": True, "SECRET_KEY": _uuid.uuid4().hex, "PROXY_FIX_HOPS": hops,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'p{hops}.db'}",
                          "KEYS_DIR": str(tmp_path / "keys")})
        with app.app_context():
            db.create_all()
            u = User(username="root", role="admin")
            u.set_password("root-password-1")
            db.session.add(u)
            db.session.commit()
        c = app.test_client()
        c.environ_base.update({"HTTP_" + k.upper().replace("-", "_"): v
                               for k, v in forwarded.items()})  # every request via the proxy
        c.post("/login", data={"username": "root", "password": "root-password-1",
                               "csrf_token": csrf_token(c)})
        r = c.post("/office/devices",
                   data={"gate": "东门", "csrf_token": csrf_token(c, "/office/devices")})
        page = html.unescape(r.get_data(as_text=True))
        with app.app_context():
            address = db.session.scalar(db.select(AuditEntry.address).where(
                AuditEntry.action == "device.create"))
        results[hops] = ("server=https%3A%2F%2Fpass.example.org" in page, address)
    assert results[0] == (False, "127.0.0.1")
    assert results[1] == (True, "203.0.113.7")


def _device_token(env) -> str:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "devices", "create",
                          "--gate", "东门"], env=env, check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    return out.strip().splitlines()[-1]


@pytest.mark.serial  # timing: run alone (make test)
@pytest.mark.other_process
def test_idle_and_slow_clients_do_not_take_the_gate_api_away(tmp_path):
    """Issue 15 §4: five idle sockets (the sync worker count) made /api/v1/scans unavailable.
    Here eleven times as many idle and slow clients as workers, more than the threads of 4
    a worker had (gunicorn 27 holds a thread up to 5 s for a new connection's first bytes),
    and a scan is answered at once; and no control socket is shared with other instances."""
    home = tmp_path / "home"
    home.mkdir()
    with running_gunicorn(tmp_path, HOME=str(home), XDG_RUNTIME_DIR=str(home)) as \
            (url, log, proc, env):
        token = _device_token(env)
        port = int(url.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        for s in slow:  # a request line and half the headers, then nothing
            s.sendall(b"POST /api/v1/scans HTTP/1.1\r\nHost: x\r\n")
        time.sleep(1)
        body = json.dumps({"nonce": "n1", "token": "GPS.x", "direction": "in",
                           "scanned_at": datetime.now(timezone.utc).isoformat()}).encode()
        started = time.monotonic()
        req = urllib.request.Request(url + "/api/v1/scans", data=body, method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and json.loads(r.read())["reason"] == "BAD_FORMAT"
        assert time.monotonic() - started < 3  # 0.2 s measured; 5 s+ while threads wait
        for s in idle + slow:
            s.close()
        assert not list(home.rglob("*.ctl")), "gunicorn made a per-user control socket"


def test_a_control_socket_only_when_named_for_this_instance(monkeypatch):
    import runpy
    conf = ROOT / "gunicorn.conf.py"
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    settings = runpy.run_path(str(conf))
    assert settings["control_socket_disable"] is True and "control_socket" not in settings
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/gatepass-east/gunicorn.ctl")
    settings = runpy.run_path(str(conf))
    assert settings["control_socket"] == "/run/gatepass-east/gunicorn.ctl"
    assert not settings.get("control_socket_disable")
    assert settings["worker_class"] == "gthread" and settings["threads"] >= 2
