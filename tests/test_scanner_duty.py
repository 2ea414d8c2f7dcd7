"""The guard's duty at the scanner: signing on, logbook keys, temperatures, over real HTTP.

Everything goes to the real service (a LiveService process on a SQLite file) through a
real TCP proxy (``GateLink``: the gate's network, which a test can take down). Guards
and their PINs are made with ``flask --app app duty guard``; what arrived is read from
the service's own tables (gate_events, scans.guard_id, handovers, gate_devices).
"""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
import requests

import scanner
from gatepass.wire import (DUTY_SIGN_OFF_PATH, DUTY_SIGN_ON_PATH, EVENTS_PATH,
                           OUTBOX_WAITING_HEADER, SCANNER_VERSION_HEADER, SCANS_PATH,
                           SNAPSHOT_PATH)

from scanner_helpers import (GateLink, LiveService, ScannerProcess, copy_keys, outbox_states,
                             wait_for)

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process

PEOPLE = [{"name": "张三丰"}, {"name": "李娜", "category": "tenant"}, {"name": "王伟"},
          {"name": "赵敏"}, {"name": "刘洋"}, {"name": "陈静"}]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("duty-service"))
    svc.seed(PEOPLE)
    svc.gate_keys = copy_keys(svc, svc.root / "gate-keys")
    svc.guard = {"id": svc.add_guard("王师傅", "1234"), "name": "王师傅"}
    svc.last_guard = {"id": svc.add_guard("李师傅", "5678"), "name": "李师傅"}
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def link(service):
    with GateLink(service.url) as gl:
        yield gl


def device_api(service, path: str, body: dict) -> dict:
    """A request to the gate API as a scanner makes it (bearer device token)."""
    r = requests.post(service.url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {service.device_token}"})
    assert r.status_code == 200, r.text
    return r.json()


def new_events(service, before: set[int]) -> list[dict]:
    return [e for e in service.events() if e["id"] not in before]


def scanner_at(url: str, service, outbox, *extra) -> ScannerProcess:
    return ScannerProcess(url, service.device_token, "-", outbox, service.gate_keys, *extra,
                          stdin=True)


def next_of(proc: ScannerProcess, kind: str, timeout: float = 20) -> dict:
    """The next JSON line of ``type`` kind (lines of other types are kept in verdicts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.next_verdict(timeout=max(0.1, deadline - time.monotonic()))
        if line.get("type") == kind:
            return line
    raise AssertionError(f"no {kind} line")


def set_rule(service, category: str, temperature_required: bool) -> None:
    """What the office's rules page stores for a category."""
    con = sqlite3.connect(service.db_path, timeout=10)
    with con:
        con.execute("INSERT INTO category_rules(community_id, category, hours, gates, anti_passback,"
                    " temperature_required) VALUES ((SELECT min(id) FROM communities), ?, '', '', 0, ?)"
                    " ON CONFLICT(community_id, category)"
                    " DO UPDATE SET temperature_required=excluded.temperature_required",
                    (category, temperature_required))
    con.close()


# --------------------------------------------------------------------------- duty and logbook

def test_guard_signs_on_records_events_and_hands_over(service, link, tmp_path):
    # The last shift at the gate: 李师傅 signed on and handed over with a note.
    device_api(service, DUTY_SIGN_ON_PATH, {"pin": "5678"})
    device_api(service, DUTY_SIGN_OFF_PATH, {"guard_id": service.last_guard["id"],
                                             "note": "东侧栏杆松了", "outbox_waiting": 0})
    before = {e["id"] for e in service.events()}
    outbox = tmp_path / "gate" / "outbox.sqlite3"
    proc = scanner_at(link.url, service, outbox)
    proc.type("g0000")
    wrong = next_of(proc, "sign_on")
    assert wrong["ok"] is False and "PIN" in wrong["error"]
    proc.type("g1234")
    on = next_of(proc, "sign_on")
    assert on["ok"] and on["guard"] == service.guard
    assert "东侧栏杆松了" in on["handover"] and "李师傅" in on["handover"]

    verdict = proc.scan(service.passes[0]["token"])
    assert verdict["allowed"] and not verdict["offline"]
    for line in ("t1", "t3 京A12345", "c3", "x2 骂人", "t9"):
        proc.type(line)
    events = [next_of(proc, "event") for _ in range(4)]
    assert next_of(proc, "invalid")["text"] == "t9"  # no sixth reason: nothing recorded
    assert [(e["kind"], e["fields"]) for e in events] == [
        ("turn_away", {"reason": "outsider"}), ("turn_away", {"reason": "outside_vehicle"}),
        ("courier", {"parcels": 3}), ("incident", {"type": "abuse"})]
    assert wait_for(lambda: outbox_states(outbox) == {"delivered": 5})
    proc.type("s 夜里平安，一辆外来车劝返")
    off = next_of(proc, "sign_off")
    assert off["ok"] and isinstance(off["handover_id"], int)
    assert proc.finish() == 0, proc.errors()

    guard_id = service.guard["id"]
    stored = new_events(service, before)
    assert [e["nonce"] for e in stored] == [e["nonce"] for e in events]
    assert all(e["guard_id"] == guard_id for e in stored)
    assert [(e["kind"], e["fields"]) for e in stored] == [(e["kind"], e["fields"]) for e in events]
    assert stored[1]["note"] == "京A12345" and stored[3]["note"] == "骂人"
    [scan_row] = [s for s in service.scans() if s["nonce"] == verdict["nonce"]]
    assert scan_row["guard_id"] == guard_id  # the guard on duty goes with every scan
    [scan_post] = link.posts(SCANS_PATH)
    assert scan_post["body"]["guard_id"] == guard_id  # said by the scanner, not guessed
    [handover] = service.rows("SELECT id, guard_id, note, summary FROM handovers"
                              " ORDER BY id DESC LIMIT 1")
    assert (handover["id"], handover["guard_id"]) == (off["handover_id"], guard_id)
    assert handover["note"] == "夜里平安，一辆外来车劝返"
    summary = json.loads(handover["summary"])
    assert summary["waiting_upload"] == 0  # the scanner said its outbox was empty
    assert (summary["turn_aways"], summary["couriers"], summary["incidents"]) == (2, 1, 1)
    assert link.posts(DUTY_SIGN_OFF_PATH)[0]["body"]["outbox_waiting"] == 0
    assert outbox_states(outbox) == {"delivered": 5}

    # Every request says which scanner it is and how much it still has to deliver,
    # and the service keeps what the scanner said on the device's row.
    paths = {r["path"] for r in link.requests}
    assert {SCANS_PATH, SNAPSHOT_PATH, EVENTS_PATH, DUTY_SIGN_ON_PATH} <= paths
    for r in link.requests:
        assert r["headers"].get(SCANNER_VERSION_HEADER) == scanner.__version__, r["path"]
        assert r["headers"].get(OUTBOX_WAITING_HEADER, "").isdigit(), r["path"]
    [device] = service.rows("SELECT scanner_version, outbox_waiting, last_seen_at"
                            " FROM gate_devices WHERE id = ?", scan_row["device_id"])
    assert device["scanner_version"] == scanner.__version__ and device["last_seen_at"]
    assert device["outbox_waiting"] == int(link.requests[-1]["headers"][OUTBOX_WAITING_HEADER])


def test_a_locked_out_scanner_says_so_instead_of_asking_for_the_pin_again(service, link,
                                                                          tmp_path):
    # Another laptop at the gate (the PIN lock is per device; the others stay usable).
    token = service.flask("devices", "create", "--gate", "东门").strip().splitlines()[-1]
    proc = ScannerProcess(link.url, token, "-", tmp_path / "outbox.sqlite3",
                          service.gate_keys, stdin=True)
    for _ in range(5):
        proc.type("g0000")
        wrong = next_of(proc, "sign_on")
        assert wrong["ok"] is False and "PIN" in wrong["error"]
    proc.type("g1234")  # the right PIN, but the service refuses every PIN for 5 minutes
    locked = next_of(proc, "sign_on")
    assert proc.finish() == 0, proc.errors()
    assert locked["ok"] is False
    assert "5 分钟" in locked["error"] and "重输" not in locked["error"]


def test_offline_events_survive_sigkill_and_arrive_exactly_once(service, link, tmp_path):
    before = {e["id"] for e in service.events()}
    outbox = tmp_path / "gate" / "outbox.sqlite3"
    link.down = True  # the network is down when the shift starts
    first = scanner_at(link.url, service, outbox, "--drain-timeout", "30")
    first.type("g1234")
    refused = next_of(first, "sign_on")
    assert refused["ok"] is False and refused["offline"] and "联网" in refused["error"]
    shown = first.scan(service.passes[2]["token"])  # scans keep working offline
    assert shown["offline"] and shown["allowed"]
    first.type("t2")
    first.type("c")
    queued = [next_of(first, "event"), next_of(first, "event")]
    assert outbox_states(outbox) == {"pending": 3}
    first.kill()  # SIGKILL: no chance to clean up

    second = scanner_at(link.url, service, outbox, "--drain-timeout", "30")
    second.type("x1 冲卡")
    queued.append(next_of(second, "event"))
    link.down = False  # the network is back
    assert second.finish(timeout=90) == 0, second.errors()

    stored = new_events(service, before)
    assert sorted(e["nonce"] for e in stored) == sorted(e["nonce"] for e in queued)
    assert {e["kind"] for e in stored} == {"turn_away", "courier", "incident"}
    assert [e for e in stored if e["kind"] == "turn_away"][0]["fields"]["reason"] == \
        "visitor_no_host"
    # nobody could sign on: the scanner sends no guard, the service decides (nobody is on
    # duty at the gate: the last guard signed off)
    assert all(q["guard_id"] is None for q in queued)
    assert all("guard_id" not in r["body"] for r in link.posts(EVENTS_PATH))
    assert all(e["guard_id"] is None for e in stored)
    assert outbox_states(outbox) == {"delivered": 4}
    # the service learns how much the gate still had to deliver when it came back
    waiting = [int(r["headers"][OUTBOX_WAITING_HEADER]) for r in link.requests]
    assert max(waiting) >= 3 and waiting[-1] <= 1
    on_server = [s for s in service.scans() if s["nonce"] == shown["nonce"]]
    assert len(on_server) == 1


# --------------------------------------------------------------------------- temperature

def test_temperature_required_prompts_and_the_reading_rejudges_the_pass(service, link,
                                                                        tmp_path):
    set_rule(service, "tenant", True)
    try:
        outbox = tmp_path / "gate" / "outbox.sqlite3"
        proc = scanner_at(link.url, service, outbox)
        tenant = service.passes[1]["token"]
        first = proc.scan(tenant)
        assert (first["allowed"], first["reason"]) == (False, "TEMPERATURE_REQUIRED")
        proc.type("365")  # the guard measures and types the reading
        again = next_of(proc, "scan")
        assert again["text"] == tenant and again["temperature"] == 36.5
        assert (again["allowed"], again["reason"], again["offline"]) == (True, "OK", False)
        assert again["nonce"] != first["nonce"]
        proc.type("441")  # 44.1 °C: a misreading, never sent
        assert next_of(proc, "invalid")["text"] == "441"
        proc.type("385")  # the next person's reading
        fever = proc.scan(service.passes[3]["token"])
        assert (fever["allowed"], fever["reason"], fever["temperature"]) == (False, "FEVER", 38.5)
        assert proc.finish() == 0, proc.errors()
        temps = {s["nonce"]: s["temperature"] for s in service.scans()}
        assert temps[again["nonce"]] == 36.5 and temps[fever["nonce"]] == 38.5
        assert temps[first["nonce"]] is None
    finally:
        set_rule(service, "tenant", False)


def test_offline_verdict_denies_fever_and_missing_reading_from_the_snapshot(service, link,
                                                                           tmp_path):
    set_rule(service, "tenant", True)
    try:
        outbox = tmp_path / "gate" / "outbox.sqlite3"
        cache = outbox.with_name("outbox.snapshot.json")
        online = scanner_at(link.url, service, outbox)
        assert wait_for(cache.exists)
        assert online.finish() == 0
        snap = json.loads(cache.read_text(encoding="utf-8"))["data"]
        assert snap["rules"]["tenant"]["temperature_required"] is True

        link.down = True
        offline = scanner_at(link.url, service, outbox, "--drain-timeout", "0.5")
        missing = offline.scan(service.passes[1]["token"])
        offline.type("372")
        fine = next_of(offline, "scan")
        offline.type("373")  # at the threshold (37.3 °C): fever
        fever = offline.scan(service.passes[4]["token"])
        assert offline.finish() == 0, offline.errors()
        assert (missing["reason"], missing["offline"]) == ("TEMPERATURE_REQUIRED", True)
        assert (fine["allowed"], fine["temperature"], fine["offline"]) == (True, 37.2, True)
        assert (fever["allowed"], fever["reason"], fever["offline"]) == (False, "FEVER", True)
    finally:
        link.down = False
        set_rule(service, "tenant", False)
