"""Keys per community, without the service: the token domain and the gate's offline verdict.

A stolen gate laptop of community A holds A's secret only: what it signs is not a pass of
B, and B's gate says so (``OTHER_COMMUNITY``) from the key id alone, offline too. The
sub-district's key never leaves the service: offline, its passes are ``ONLINE_ONLY``.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gatepass.tokens import Key, KeyRing, decode, issue_dynamic, issue_static
from gatepass.verdict import REASONS, PassState, verify
from scanner.offline import OfflineJudge, SnapshotStore

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)


def _ring(tmp_path, name: str, kid: str) -> KeyRing:
    KeyRing.create_key(tmp_path / name, kid)
    return KeyRing.load(tmp_path / name)


def _any_pass(pass_id: int) -> PassState:
    return PassState(pass_id=pass_id, serial=1)


def test_a_key_cannot_sign_a_pass_that_b_accepts(tmp_path):
    a, b = _ring(tmp_path, "a", "k1"), _ring(tmp_path, "b", "k2")
    # A's laptop signs in its own name: B knows the kid as A's and refuses it.
    b_gate = KeyRing.merged(b, foreign={"k1": "c1"})
    v = verify(issue_static(a, 7, 1), b_gate, _any_pass, NOW)
    assert (v.allowed, v.reason, v.pass_id, v.holder) == (False, "OTHER_COMMUNITY", None, None)
    # ...or claims B's key id with A's secret: the signature does not hold.
    forged = KeyRing([Key(kid="k2", secret=a.get("k1").secret, created=NOW)])
    assert verify(issue_static(forged, 7, 1), b_gate, _any_pass, NOW).reason == "BAD_SIGNATURE"
    # B's own pass is fine at B.
    assert verify(issue_static(b, 7, 1), b_gate, _any_pass, NOW).reason == "OK"


def test_other_community_is_said_for_phone_codes_too_and_leaks_nothing(tmp_path):
    a, b = _ring(tmp_path, "a", "ka"), _ring(tmp_path, "b", "kb")
    b_gate = KeyRing.merged(b, foreign={"ka": "c1"})
    token = issue_dynamic(a, 31, 4, NOW)
    v = verify(token, b_gate, _any_pass, NOW)
    assert v.reason == "OTHER_COMMUNITY" and not v.allowed
    assert v.pass_id is None and v.serial is None and v.holder is None
    assert REASONS["OTHER_COMMUNITY"] == ("非本社区通行证", "Pass of another community")


def test_an_unknown_kid_stays_unknown_and_a_retired_own_kid_stays_retired(tmp_path):
    a, b = _ring(tmp_path, "a", "k1"), _ring(tmp_path, "b", "k2")
    assert verify(issue_static(a, 1, 1), b, _any_pass, NOW).reason == "UNKNOWN_KEY"
    retired = KeyRing.merged(b, foreign={"k1": "c1"})
    retired.extra_retired.add("k2")
    assert verify(issue_static(b, 1, 1), retired, _any_pass, NOW).reason == "KEY_RETIRED"


def test_merged_ring_verifies_both_communities_keys(tmp_path):
    own, district = _ring(tmp_path, "c2", "k2"), _ring(tmp_path, "sd", "k3")
    gate = KeyRing.merged(own, district)
    assert decode(gate, issue_static(own, 1, 1)).kid == "k2"
    assert decode(gate, issue_static(district, 2, 1)).kid == "k3"


def test_generated_kids_skip_every_other_ring_and_chosen_ones_must_be_free(tmp_path):
    KeyRing.create_key(tmp_path / "c1", "k1")
    taken = {"k1", "k2"}  # k2: another community's
    key = KeyRing.create_key(tmp_path / "c3", taken=taken)
    assert key.kid == "k3"
    with pytest.raises(ValueError, match="exists"):
        KeyRing.create_key(tmp_path / "c3", "k2", taken=taken)
    with pytest.raises(ValueError, match="exists"):
        KeyRing.create_key(tmp_path / "c3", "k3", taken=taken)


# --------------------------------------------------------------------------- the scanner


def _gate(tmp_path, snapshot: dict | None):
    """A gate of community c2 as enrolment leaves it: c2's key files, the snapshot on disk."""
    own = _ring(tmp_path, "c2", "k2")
    store = SnapshotStore(tmp_path / "snap.json", "http://service")
    if snapshot is not None:
        store.replace(snapshot, "etag")
    return own, OfflineJudge(own, store)


SNAPSHOT = {"gate": "东门", "retired_kids": [], "rules": {},
            "passes": {"5": [1, "active", "resident", None, None, None]},
            "community_kids": {"k1": "c1", "k9": "c3"}, "online_only_kids": ["k4"]}


def test_offline_gate_says_other_community_for_a_neighbours_pass(tmp_path):
    own, judge = _gate(tmp_path, SNAPSHOT)
    neighbour = _ring(tmp_path, "c1", "k1")
    v = judge.judge(issue_static(neighbour, 5, 1), "in", NOW)
    assert (v.allowed, v.reason, v.holder, v.extra["offline"]) == \
        (False, "OTHER_COMMUNITY", None, True)
    assert judge.judge(issue_static(own, 5, 1), "in", NOW).reason == "OK"


def test_offline_gate_sends_sub_district_passes_online(tmp_path):
    _own, judge = _gate(tmp_path, SNAPSHOT)
    district = _ring(tmp_path, "sd", "k4")
    v = judge.judge(issue_static(district, 5, 1), "in", NOW)
    assert (v.allowed, v.reason) == (False, "ONLINE_ONLY")
    # The laptop holds no sub-district secret, so it cannot make one it would accept either.
    assert not any(k.kid == "k4" for k in judge.ring())


def test_offline_gate_without_snapshot_or_with_odd_fields_knows_no_neighbours(tmp_path):
    _own, judge = _gate(tmp_path, None)
    neighbour = _ring(tmp_path, "c1", "k1")
    assert judge.judge(issue_static(neighbour, 5, 1), "in", NOW).reason == "UNKNOWN_KEY"
    odd = {**SNAPSHOT, "community_kids": ["k1"], "online_only_kids": "k4"}
    _own, judge = _gate(tmp_path / "odd", odd)
    assert judge.judge(issue_static(neighbour, 5, 1), "in", NOW).reason == "UNKNOWN_KEY"


def test_every_reason_code_is_tested_somewhere():
    """test_api sees every code the service answers with one community; the two that need
    several communities (or an offline gate) are this file's and test_community_rings'."""
    from test_api import ALL_CODES
    assert set(REASONS) == ALL_CODES | {"OTHER_COMMUNITY", "ONLINE_ONLY"}
