"""`python -m scanner run` against a live service: a gate video, a dead network, SIGKILL.

The service and the scanner are separate processes talking HTTP, as at a
gate. One service serves the whole module; each test uses its own passes and
its own outbox, and leaves the service running.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from gatepass.tokens import KeyRing, issue_static
from scanner.offline import OfflineJudge, SnapshotStore

from scanner_helpers import (LiveService, ScannerProcess, Visitor, copy_keys, forge,
                             make_gate_video, outbox_states)

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process

FOREIGN = "https://qr.alipay.com/bax03431ljhokirwl38f00a7"

PEOPLE = [
    {"name": "钱学森"},                                    # 0: signed by k1, retired later
    {"name": "张三丰", "rotate_before": True},             # 1: from here on, signed by k2
    {"name": "李娜", "category": "tenant"},                # 2
    {"name": "王伟", "status": "revoked"},                 # 3
    {"name": "赵敏", "category": "sanitation"},            # 4
    {"name": "刘洋"},                                      # 5
    {"name": "陈静", "category": "staff"},                 # 6
    {"name": "孙强", "status": "revoked"},                 # 7
    {"name": "周杰"},                                      # 8
    {"name": "吴磊"},                                      # 9
    {"name": "郑爽"},                                      # 10
    {"name": "冯刚"},                                      # 11
    {"name": "何平"},                                      # 12
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("service"))
    svc.seed(PEOPLE)
    svc.gate_keys = copy_keys(svc, svc.root / "gate-keys")  # the laptop's copy: k1 and k2
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def running(service):
    """Whatever the previous test did to the service, this one finds it up."""
    if service.proc is None:
        service.start()
    return service


def token(service, i: int, dynamic: bool = False) -> str:
    return service.passes[i]["dynamic" if dynamic else "token"]


def scanner(service, outbox, *extra, source="-"):
    return ScannerProcess(service.url, service.device_token, source, outbox, service.gate_keys,
                          *extra, stdin=source == "-")


def by_nonce(scans: list[dict], nonces) -> dict[str, list[dict]]:
    """The service's rows for each nonce (raw text is kept only for unverified texts)."""
    out = {n: [] for n in nonces}
    for s in scans:
        if s["nonce"] in out:
            out[s["nonce"]].append(s)
    return out


# --------------------------------------------------------------------------- end to end

def test_gate_video_queue_gets_one_scan_per_person_with_the_right_verdict(running, tmp_path):
    s = running
    queue = [  # (what is held up, how, expected reason)
        (Visitor(token(s, 1), "card", s.passes[1]["holder"]), "OK"),
        (Visitor(token(s, 2, dynamic=True), "phone"), "OK"),
        (Visitor(token(s, 3), "card", s.passes[3]["holder"]), "REVOKED"),
        (Visitor(forge(token(s, 4)), "card", s.passes[4]["holder"]), "BAD_SIGNATURE"),
        (Visitor(FOREIGN, "phone"), "BAD_FORMAT"),
        (Visitor(token(s, 5), "card", s.passes[5]["holder"]), "OK"),
        (Visitor(token(s, 6, dynamic=True), "phone"), "OK"),
    ]
    visible, gap = 12, 6
    video = tmp_path / "gate.avi"
    frames = make_gate_video(video, [v for v, _ in queue], visible=visible, gap=gap)
    outbox = tmp_path / "gate" / "outbox.sqlite3"

    started = time.monotonic()
    proc = scanner(s, outbox, source=str(video))
    rc = proc.finish(timeout=120)
    elapsed = time.monotonic() - started
    assert rc == 0, proc.errors()
    print(f"\n{frames} frames, {len(proc.verdicts)} scans in {elapsed:.1f} s "
          f"({frames / elapsed:.1f} frames/s including start-up)")

    texts = [v.text for v, _ in queue]
    assert [v["text"] for v in proc.verdicts] == texts, proc.errors()
    for k, (v, (visitor, reason)) in enumerate(zip(proc.verdicts, queue)):
        assert v["reason"] == reason, v
        assert v["allowed"] is (reason == "OK")
        assert v["offline"] is False
        first = gap + k * (visible + gap)  # the frame the person appears in
        assert first <= v["source_index"] < first + visible, v
    assert proc.verdicts[0]["holder"]["name"] == "张*丰"
    assert proc.verdicts[0]["holder"]["address"] == s.passes[1]["holder"]["address"]

    rows = by_nonce(s.scans(), [v["nonce"] for v in proc.verdicts])
    for v in proc.verdicts:
        [row] = rows[v["nonce"]]  # exactly one scan per person on the service
        assert row["reason"] == v["reason"]
        assert row["offline_reason"] is None
    assert outbox_states(outbox) == {"delivered": len(queue)}


# --------------------------------------------------------------------------- faults

def test_service_down_then_kill_then_restart_delivers_every_scan_exactly_once(running, tmp_path):
    s = running
    s.stop()  # the network is down when the shift starts
    outbox = tmp_path / "gate" / "outbox.sqlite3"

    first = scanner(s, outbox, "--drain-timeout", "30")
    shown = [first.scan(token(s, 9)), first.scan(token(s, 10)), first.scan(forge(token(s, 11)))]
    assert [v["offline"] for v in shown] == [True, True, True]
    assert [(v["allowed"], v["reason"]) for v in shown] == \
        [(True, "OK"), (True, "OK"), (False, "BAD_SIGNATURE")]
    assert outbox_states(outbox) == {"pending": 3}  # on disk before the guard saw them
    first.kill()  # SIGKILL: no chance to clean up

    second = scanner(s, outbox, "--drain-timeout", "30")
    shown += [second.scan(token(s, 11)), second.scan(token(s, 12))]
    assert shown[3]["offline"] and shown[4]["offline"]
    s.start()  # the network is back
    shown.append(second.scan("not a pass, just text"))
    assert second.finish(timeout=90) == 0, second.errors()

    nonces = [v["nonce"] for v in shown]
    assert len(set(nonces)) == 6
    on_server = [r for r in s.scans() if r["nonce"] in nonces]
    assert sorted(r["nonce"] for r in on_server) == sorted(nonces)  # each exactly once
    for nonce, found in by_nonce(s.scans(), nonces).items():
        assert len(found) == 1, (nonce, found)
    reasons = {r["nonce"]: r for r in on_server}
    assert [reasons[n]["reason"] for n in nonces] == \
        ["OK", "OK", "BAD_SIGNATURE", "OK", "OK", "BAD_FORMAT"]
    for v in shown[:5]:  # the service records what the guard was shown offline
        assert reasons[v["nonce"]]["offline_reason"] == v["reason"]
    assert outbox_states(outbox) == {"delivered": 6}


def test_restarted_scanner_without_network_denies_from_its_snapshot_cache(running, tmp_path):
    s = running
    KeyRing.retire_key(s.keys, "k1")  # what `flask --app app keys retire k1` does
    outbox = tmp_path / "gate" / "outbox.sqlite3"
    cache = outbox.with_name("outbox.snapshot.json")

    online = scanner(s, outbox)
    v = online.scan(token(s, 8))
    assert (v["allowed"], v["offline"]) == (True, False)
    deadline = time.monotonic() + 20
    while not cache.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert online.finish() == 0, online.errors()
    snap = json.loads(cache.read_text(encoding="utf-8"))["data"]
    assert "k1" in snap["retired_kids"]

    s.stop()
    offline = scanner(s, outbox, "--drain-timeout", "0.5")
    revoked = offline.scan(token(s, 7))
    retired = offline.scan(token(s, 0))  # the laptop's own key copy still has k1 active
    fine = offline.scan(token(s, 8, dynamic=True))
    assert offline.finish() == 0, offline.errors()
    assert (revoked["allowed"], revoked["reason"], revoked["offline"]) == (False, "REVOKED", True)
    assert (retired["allowed"], retired["reason"], retired["offline"]) == \
        (False, "KEY_RETIRED", True)
    assert (fine["allowed"], fine["offline"]) == (True, True)
    assert outbox_states(outbox) == {"delivered": 1, "pending": 3}  # kept for the next start


# --------------------------------------------------------------------------- offline policy

def _judge(tmp_path, data: dict | None):
    keys = tmp_path / "keys"
    KeyRing.create_key(keys, "k1")
    ring = KeyRing.load(keys)
    store = SnapshotStore(tmp_path / "snap.json", "http://service")
    if data is not None:
        store.replace(data, "etag1")
    return ring, OfflineJudge(ring, store)


def test_offline_policy_for_passes_the_snapshot_does_not_list(tmp_path):
    data = {"gate": "东门", "retired_kids": [],
            "passes": {"1": [1, "active", "resident", None, None],
                       "2": [2, "revoked", "resident", None, None],
                       "5": [1, "active", "courier", None, None]},
            "rules": {"courier": {"hours": "", "gates": ["北门"], "anti_passback": True}}}
    ring, judge = _judge(tmp_path, data)
    v = judge.judge(issue_static(ring, 1, 1), "in")
    assert (v.allowed, v.reason) == (True, "OK")
    assert v.holder["code"] == "P000001-1"
    assert judge.judge(issue_static(ring, 2, 2), "in").reason == "REVOKED"
    assert judge.judge(issue_static(ring, 1, 0), "in").reason == "SUPERSEDED"
    assert judge.judge(issue_static(ring, 5, 1), "in").reason == "GATE_NOT_ALLOWED"
    newer = judge.judge(issue_static(ring, 9, 1), "in")  # issued after the last sync
    assert newer.allowed and newer.extra["signature_only"]
    assert judge.judge(issue_static(ring, 3, 1), "in").reason == "UNKNOWN_PASS"  # deleted
    assert judge.judge(FOREIGN, "in").reason == "BAD_FORMAT"


def test_offline_snapshot_retires_keys_and_is_reread_from_disk(tmp_path):
    data = {"gate": "东门", "retired_kids": ["k1"], "passes": {}, "rules": {}}
    ring, judge = _judge(tmp_path, data)
    assert judge.judge(issue_static(ring, 1, 1), "in").reason == "KEY_RETIRED"
    again = SnapshotStore(tmp_path / "snap.json", "http://service")
    assert again.current.retired_kids == {"k1"} and again.current.etag == "etag1"
    other = SnapshotStore(tmp_path / "snap.json", "http://another-service")
    assert other.current is None  # another service's passes would judge wrongly


def test_offline_without_any_snapshot_judges_on_the_signature(tmp_path):
    ring, judge = _judge(tmp_path, None)
    v = judge.judge(issue_static(ring, 42, 1), "in")
    assert v.allowed and v.extra["signature_only"] and v.extra["offline"]
    stale = KeyRing.load(tmp_path / "keys")
    from gatepass.tokens import issue_dynamic
    old = issue_dynamic(stale, 42, 1, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert judge.judge(old, "in").reason == "STALE"


def test_offline_judge_denies_quarantine_and_uses_the_services_max_age(tmp_path):
    """The snapshot's quarantine column and phone-code lifetime reach the offline verdict."""
    from datetime import datetime, timedelta, timezone
    from gatepass.tokens import KeyRing, issue_dynamic, issue_static
    from scanner.offline import OfflineJudge, Snapshot, SnapshotStore

    KeyRing.create_key(tmp_path / "keys", "k1")
    ring = KeyRing.load(tmp_path / "keys")
    now = datetime.now(timezone.utc)
    store = SnapshotStore(tmp_path / "snap.json", "http://127.0.0.1:9")
    store.current = Snapshot({"gate": "东门", "retired_kids": [], "rules": {},
                              "dynamic_max_age": 20,
                              "passes": {"1": [1, "active", "resident", None, None,
                                               (now + timedelta(days=2)).isoformat()],
                                         "2": [1, "active", "resident", None, None, None]}})
    judge = OfflineJudge(ring, store)
    assert judge.judge(issue_static(ring, 1, 1), "out", now).reason == "IN_QUARANTINE"
    assert judge.judge(issue_static(ring, 1, 1), "in", now).reason == "OK"
    code = issue_dynamic(ring, 2, 1, now)
    assert judge.judge(code, "in", now + timedelta(seconds=19)).reason == "OK"
    assert judge.judge(code, "in", now + timedelta(seconds=25)).reason == "STALE"
