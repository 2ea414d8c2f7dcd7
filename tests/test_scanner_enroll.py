"""`python -m scanner enroll` from a real PNG of the setup QR, then `run` with no other flag.

The office makes the setup QR with the real command (``flask --app app devices enroll
--gate 东门 -o setup.png``) against the live service; the scanner reaches the service
through a real TCP proxy (``GateLink``, the gate's network), so the scan that arrives on
the service, from the enrolled device, proves the stored settings work.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys

import pytest

import scanner
from gatepass import qrimage
from gatepass.wire import ENROLL_PATH

from scanner_helpers import ROOT, GateLink, LiveService, card_image

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("enroll-service"))
    svc.seed([{"name": "张三丰"}, {"name": "李娜"}])
    svc.start()
    yield svc
    svc.stop()


def scanner_cli(home, *args, timeout=120):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GATEPASS_SERVER", "GATEPASS_DEVICE_TOKEN", "KEYS_DIR")}
    env.update({"GATEPASS_SCANNER_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_enrol_from_the_setup_qr_then_run_with_no_other_flag(service, tmp_path):
    home = tmp_path / "home" / "gatepass-scanner"
    with GateLink(service.url) as link:
        setup = tmp_path / "setup.png"
        made = service.flask("devices", "enroll", "--gate", "东门", "--server", link.url,
                             "-o", str(setup))
        device_id = int(re.match(r"device (\d+) ", made).group(1))

        not_yet = scanner_cli(home, "run", "--source", str(setup), "--headless")
        assert not_yet.returncode == 2 and "enroll" in not_yet.stderr

        done = scanner_cli(home, "enroll", "--image", str(setup))
        assert done.returncode == 0, done.stderr
        [exchange] = link.posts(ENROLL_PATH)
        assert len(exchange["body"]["code"]) == 32 and exchange["body"]["scanner_version"]
        [code] = service.rows("SELECT used_at FROM enrolment_codes WHERE device_id = ?",
                              device_id)
        assert code["used_at"]  # the service spent the code

        assert mode(home) == 0o700 and mode(home / "keys") == 0o700
        assert mode(home / "config.json") == 0o600
        keys = sorted(p.name for p in (home / "keys").iterdir())
        assert keys == sorted(p.name for p in service.keys.glob("*.key")) and keys
        assert all(mode(home / "keys" / k) == 0o600 for k in keys)
        settings = json.loads((home / "config.json").read_text(encoding="utf-8"))
        token = settings["device_token"]
        assert settings == {"server": link.url, "device_token": token,
                            "device_id": device_id, "gate": "东门"}
        assert "东门" in done.stdout and token not in done.stdout + done.stderr
        [device] = service.rows("SELECT token_hash, scanner_version FROM gate_devices"
                                " WHERE id = ?", device_id)
        assert device["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert device["scanner_version"] == scanner.__version__

        # A pass held up to the camera: `--source IMAGE --headless` and nothing else.
        pass_png = tmp_path / "pass.png"
        card_image(service.passes[0]["token"], service.passes[0]["holder"]).save(pass_png)
        run = scanner_cli(home, "run", "--source", str(pass_png), "--headless",
                          "--outbox", str(tmp_path / "outbox.sqlite3"))
        assert run.returncode == 0, run.stderr
        [verdict] = [json.loads(line) for line in run.stdout.splitlines()]
        assert (verdict["allowed"], verdict["reason"], verdict["offline"]) == (True, "OK", False)
        [arrived] = [s for s in service.scans() if s["nonce"] == verdict["nonce"]]
        assert arrived["reason"] == "OK"
        assert arrived["device_id"] == device_id  # posted with the enrolled device's token

        # The network drops: the enrolled key files judge the pass offline.
        link.down = True
        offline = scanner_cli(home, "run", "--source", str(pass_png), "--headless",
                              "--outbox", str(tmp_path / "outbox2.sqlite3"),
                              "--drain-timeout", "0")
        link.down = False
        [v] = [json.loads(line) for line in offline.stdout.splitlines()]
        assert (v["allowed"], v["offline"]) == (True, True), v

        # The same setup QR again: refused, said plainly, and nothing stored is touched.
        again = scanner_cli(home, "enroll", "--image", str(setup))
        assert again.returncode == 1
        assert "已用过" in again.stderr and "refused" in again.stderr
        assert json.loads((home / "config.json").read_text(encoding="utf-8")) == settings
        [still] = service.rows("SELECT token_hash FROM gate_devices WHERE id = ?", device_id)
        assert still["token_hash"] == device["token_hash"]  # the refused code changed nothing


def test_enrol_refuses_a_picture_without_a_setup_code(service, tmp_path):
    home = tmp_path / "home"
    other = tmp_path / "pass.png"
    other.write_bytes(qrimage.png(service.passes[1]["token"], box_size=8))
    r = scanner_cli(home, "enroll", "--image", str(other), "--server", "http://127.0.0.1:9")
    assert r.returncode == 1 and "no setup QR" in r.stderr
    assert not home.exists()
