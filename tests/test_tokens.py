"""Pass tokens: size, kinds, tampering, keys. Pure functions, no Flask."""
from datetime import datetime, timedelta, timezone

import pytest
import qrcode
from hypothesis import given, settings, strategies as st

from gatepass import tokens
from gatepass.verdict import PassState, verify

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def ring(tmp_path):
    tokens.KeyRing.create_key(tmp_path, "k1")
    return tokens.KeyRing.load(tmp_path)


def lookup_ok(pass_id):
    return PassState(pass_id=pass_id, serial=1)


def qr_version(text: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.version


@pytest.mark.parametrize("pass_id,serial", [(1, 1), (7000, 3), (10**9, 999), (36**8, 36**3)])
def test_token_fits_in_a_small_qr(ring, pass_id, serial):
    for text in (tokens.issue_static(ring, pass_id, serial),
                 tokens.issue_dynamic(ring, pass_id, serial, NOW)):
        assert len(text) <= 64, text
        assert qr_version(text) <= 5, text
        claims = tokens.decode(ring, text)
        assert (claims.pass_id, claims.serial) == (pass_id, serial)


def test_token_carries_no_personal_data(ring):
    text = tokens.issue_static(ring, 42, 1)
    # prefix, key id, pass id, serial, signature: nothing else
    prefix, kid, pid, serial, sig = text.split(".")
    assert (prefix, kid, int(pid, 36), int(serial, 36)) == ("GPS", "k1", 42, 1)
    assert len(sig) == 20


def test_salt_is_not_the_flask_secret(ring):
    # A Signer with the same secret but another salt cannot verify our tokens.
    from itsdangerous import BadSignature, Signer
    text = tokens.issue_static(ring, 1, 1)
    with pytest.raises(BadSignature):
        Signer(ring.get("k1").secret).unsign(text)


@pytest.mark.parametrize("dynamic", [False, True])
def test_every_tampered_character_is_denied(ring, dynamic):
    text = tokens.issue_dynamic(ring, 1234, 2, NOW) if dynamic else tokens.issue_static(ring, 1234, 2)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_."
    for i, ch in enumerate(text):
        for repl in {alphabet[(alphabet.index(ch) + 1) % len(alphabet)], "A", "."} - {ch}:
            forged = text[:i] + repl + text[i + 1:]
            v = verify(forged, ring, lambda pid: PassState(pass_id=pid, serial=2), NOW)
            assert not v.allowed, (i, forged)
            assert v.reason in ("BAD_SIGNATURE", "BAD_FORMAT", "UNKNOWN_KEY"), (i, forged, v.reason)


def test_truncated_and_extended_tokens_are_denied(ring):
    text = tokens.issue_static(ring, 5, 1)
    for forged in (text[:-1], text + "A", text[:10], "", " ", text.replace(".", "")):
        assert verify(forged, ring, lookup_ok, NOW).reason in ("BAD_SIGNATURE", "BAD_FORMAT")


def test_foreign_qr_codes_are_bad_format(ring):
    for text in ("https://weixin.qq.com/r/abcdef", "wxp://f2f0abcdef", "hello", "1" * 500,
                 "GPS.k1", "\x00\x01", "GPS.K1.1.1." + "A" * 20, None, 12345, b"GPS.k1.1.1.x"):
        v = verify(text, ring, lookup_ok, NOW)
        assert (v.allowed, v.reason) == (False, "BAD_FORMAT"), text


def test_rotation_old_keys_verify_until_retired(tmp_path):
    tokens.KeyRing.create_key(tmp_path, "k1")
    old = tokens.issue_static(tokens.KeyRing.load(tmp_path), 9, 1)
    tokens.KeyRing.create_key(tmp_path, "k2")
    ring = tokens.KeyRing.load(tmp_path)
    new = tokens.issue_static(ring, 9, 1)
    assert new.split(".")[1] == "k2"
    assert verify(old, ring, lookup_ok, NOW).reason == "OK"
    tokens.KeyRing.retire_key(tmp_path, "k1")
    ring = tokens.KeyRing.load(tmp_path)
    assert verify(old, ring, lookup_ok, NOW).reason == "KEY_RETIRED"
    assert verify(new, ring, lookup_ok, NOW).reason == "OK"


def test_unknown_key_and_retired_id_without_file(tmp_path, ring):
    other = tmp_path / "other"
    tokens.KeyRing.create_key(other, "k9")
    text = tokens.issue_static(tokens.KeyRing.load(other), 1, 1)
    assert verify(text, ring, lookup_ok, NOW).reason == "UNKNOWN_KEY"
    gate_ring = tokens.KeyRing.load(other)
    gate_ring.extra_retired.add("k9")  # the service said so; the gate still has the file
    assert verify(text, gate_ring, lookup_ok, NOW).reason == "KEY_RETIRED"


def test_same_kid_other_secret_is_bad_signature(tmp_path, ring):
    other = tmp_path / "other"
    tokens.KeyRing.create_key(other, "k1")
    text = tokens.issue_static(tokens.KeyRing.load(other), 1, 1)
    assert verify(text, ring, lookup_ok, NOW).reason == "BAD_SIGNATURE"


def test_dynamic_token_window(ring):
    text = tokens.issue_dynamic(ring, 77, 1, NOW)
    assert verify(text, ring, lookup_ok, NOW + timedelta(seconds=59)).reason == "OK"
    assert verify(text, ring, lookup_ok, NOW + timedelta(seconds=60)).reason == "OK"
    assert verify(text, ring, lookup_ok, NOW + timedelta(seconds=61)).reason == "STALE"
    assert verify(text, ring, lookup_ok, NOW - timedelta(seconds=10)).reason == "OK"  # clock skew
    assert verify(text, ring, lookup_ok, NOW - timedelta(minutes=5)).reason == "NOT_YET_VALID"


def test_key_files_are_private_and_ids_checked(tmp_path):
    key = tokens.KeyRing.create_key(tmp_path)
    assert key.kid == "k1"
    assert (tmp_path / "k1.key").stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError):
        tokens.KeyRing.create_key(tmp_path, "k1")
    with pytest.raises(ValueError):
        tokens.KeyRing.create_key(tmp_path, "Bad.Kid")
    assert tokens.KeyRing.create_key(tmp_path).kid == "k2"


def test_no_active_key_cannot_sign(tmp_path):
    tokens.KeyRing.create_key(tmp_path, "k1")
    tokens.KeyRing.retire_key(tmp_path, "k1")
    with pytest.raises(tokens.UnknownKey):
        tokens.issue_static(tokens.KeyRing.load(tmp_path), 1, 1)


@pytest.fixture(scope="module")
def module_ring(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    tokens.KeyRing.create_key(d, "k1")
    return tokens.KeyRing.load(d)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
                 st.from_regex(r"GP[SD]\.[a-z0-9]{1,3}(\.[A-Za-z0-9_-]{0,12}){2,5}", fullmatch=True)))
def test_verify_never_raises(module_ring, text):
    v = verify(text, module_ring, lookup_ok, NOW)
    assert v.reason in {"BAD_FORMAT", "BAD_SIGNATURE", "UNKNOWN_KEY", "KEY_RETIRED"}
    assert not v.allowed and v.message and v.message_en
