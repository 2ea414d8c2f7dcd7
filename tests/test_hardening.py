"""The probe's findings (issue 12, section 3), each as a test that failed before its fix.

1 future scanned_at · 2 live tokens in the log · 5 NUL bytes · 7 login throttling and
timing · 8 security headers · 9 scanned_at out of range · 11 logout ends the session ·
12 nonces unique per device, 409 for a reused nonce with another body.
"""
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import Pass, Scan
from helpers import csrf_token

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def _scans(app) -> list[Scan]:
    with app.app_context():
        return db.session.scalars(db.select(Scan).order_by(Scan.id)).all()


# -- 1: a scanned_at in the future -------------------------------------------------

def test_far_future_scanned_at_is_refused_and_freezes_nothing(app, make, scan):
    pid = make.pass_for()
    token = make.token(pid)
    r = scan(token, "in", scanned_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    assert r.status_code == 400 and "future" in r.get_json()["message"]
    assert _scans(app) == []
    # anti-passback still works for the pass
    assert scan(token, "in").get_json()["reason"] == "OK"
    assert scan(token, "in").get_json()["reason"] == "ALREADY_INSIDE"
    assert scan(token, "out").get_json()["reason"] == "OK"


def test_gate_clock_slightly_ahead_is_judged_at_the_server_clock(app, make, scan):
    """Within the tolerated skew the scan counts, but presence is ordered by the server's
    clock: a later scan with a correct clock is still judged for anti-passback."""
    pid = make.pass_for()
    token = make.token(pid)
    ahead = datetime.now(timezone.utc) + timedelta(minutes=4)
    assert scan(token, "in", scanned_at=ahead).get_json()["reason"] == "OK"
    assert scan(token, "in").get_json()["reason"] == "ALREADY_INSIDE"
    with app.app_context():
        assert db.session.get(Pass, pid).last_scan_at <= datetime.now(timezone.utc)


def test_scanned_at_before_any_plausible_backlog_is_refused(app, make, scan):
    r = scan(make.token(make.pass_for()), "in", scanned_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert r.status_code == 400 and "too long ago" in r.get_json()["message"]


# -- 9 (API part): scanned_at that has no UTC equivalent ---------------------------

@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_out_of_range_scanned_at_is_400(app, client, device_token, at):
    r = client.post("/api/v1/scans", json={"nonce": "n1", "token": "x", "direction": "in",
                                           "scanned_at": at},
                    headers={"Authorization": f"Bearer {device_token}"})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert _scans(app) == []


# -- 2: raw text only for texts whose signature did not verify ---------------------

def test_denied_but_validly_signed_tokens_are_not_kept_in_the_log(app, make, scan, auth):
    pid = make.pass_for()
    token = make.token(pid)
    with app.app_context():
        db.session.get(Pass, pid).status = "suspended"
        db.session.commit()
    assert scan(token, "in").get_json()["reason"] == "SUSPENDED"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert scan(forged, "in").get_json()["reason"] == "BAD_SIGNATURE"
    assert scan("hello", "in").get_json()["reason"] == "BAD_FORMAT"
    rows = {s.reason: s.raw_text for s in _scans(app)}
    assert rows == {"SUSPENDED": "", "BAD_SIGNATURE": forged, "BAD_FORMAT": "hello"}
    auth.login("guard")
    page = auth.client.get("/office/scans").get_data(as_text=True)
    export = auth.client.get("/office/scans/export.csv").get_data(as_text=True)
    assert token not in page and token not in export
    assert forged in export


# -- 5 (API part): NUL bytes --------------------------------------------------------

@pytest.mark.parametrize("field", ["token", "nonce"])
def test_nul_byte_in_token_or_nonce_is_400(app, client, device_token, field):
    body = {"nonce": uuid.uuid4().hex, "token": "GPS.k1.1.1.x", "direction": "in",
            "scanned_at": datetime.now(timezone.utc).isoformat()}
    body[field] = body[field][:4] + "\x00" + body[field][4:]
    r = client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {device_token}"})
    assert r.status_code == 400 and "NUL" in r.get_json()["message"]
    assert _scans(app) == []


def test_lone_surrogate_in_token_is_400(app, client, device_token):
    body = ('{"nonce": "n-sur", "token": "GPS\\ud800", "direction": "in", "scanned_at": "%s"}'
            % datetime.now(timezone.utc).isoformat())
    r = client.post("/api/v1/scans", data=body, content_type="application/json",
                    headers={"Authorization": f"Bearer {device_token}"})
    assert r.status_code == 400


# -- 12: nonces per device, 409 for another body ------------------------------------

def test_the_same_nonce_from_two_devices_is_two_scans(app, make, scan):
    pid = make.pass_for()
    other = make.device("北门")
    nonce, at = "scan-0001", datetime.now(timezone.utc)
    a = scan(make.token(pid), "in", nonce=nonce, scanned_at=at).get_json()
    b = scan(make.token(pid), "out", nonce=nonce, scanned_at=at, device=other).get_json()
    assert a["scan_id"] != b["scan_id"]
    assert (a["gate"], b["gate"]) == ("东门", "北门")
    assert len(_scans(app)) == 2


def test_a_reused_nonce_with_a_different_body_is_409(app, make, scan):
    pid = make.pass_for()
    at = datetime.now(timezone.utc)
    first = scan(make.token(pid), "in", nonce="n-409", scanned_at=at)
    assert first.status_code == 200
    retry = scan(make.token(pid), "in", nonce="n-409", scanned_at=at)
    assert retry.status_code == 200 and retry.get_json() == first.get_json()
    other = scan(make.token(pid), "out", nonce="n-409", scanned_at=at)
    assert other.status_code == 409 and other.get_json()["error"] == "NONCE_REUSED"
    assert len(_scans(app)) == 1


# -- 7: login throttling and timing --------------------------------------------------

def _try_login(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def test_thirty_wrong_passwords_get_429(app, client, make):
    make.user("office1", "office", "right-password-1")
    codes = [_try_login(client, "office1", f"wrong-{i}").status_code for i in range(30)]
    assert 429 in codes and codes[0] == 200
    # and the right password is refused too while throttled: guessing cannot go on
    assert _try_login(client, "office1", "right-password-1").status_code == 429
    # another user from the same address is not locked out by it
    make.user("office2", "office", "right-password-2")
    assert _try_login(client, "office2", "right-password-2").status_code == 302


def test_unknown_user_costs_a_password_hash(app, client, make):
    make.user("known", "office", "right-password-1")

    def timed(name):
        best = 10.0
        for _ in range(3):
            t = time.perf_counter()
            assert _try_login(client, name, "wrong-password").status_code == 200
            best = min(best, time.perf_counter() - t)
        return best

    known, unknown = timed("known"), timed(f"nobody-{uuid.uuid4().hex[:6]}")
    assert unknown > known * 0.5, (known, unknown)


# -- 8: security headers --------------------------------------------------------------

def test_every_page_has_security_headers(app, client, auth, make):
    pid = make.pass_for()
    from app.services.issuing import resident_link_token
    with app.app_context():
        link = resident_link_token(db.session.get(Pass, pid))
    pages = [client.get("/login"), client.get(f"/p/{link}")]
    auth.login("admin")
    pages += [client.get(u) for u in ("/office/", "/office/passes", f"/office/passes/{pid}",
                                      "/office/devices", "/office/scans")]
    for r in pages:
        assert r.status_code == 200
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in r.headers["Cache-Control"]
        html = r.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "nosniff" in client.get("/static/style.css").headers["X-Content-Type-Options"]


# -- 11: logout ends the session on the server -------------------------------------------

def test_a_copied_session_cookie_is_dead_after_logout(app, client, auth):
    auth.login("office")
    assert client.get("/office/passes").status_code == 200
    copied = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", copied, domain="localhost")
    r = thief.get("/office/passes")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_login_lasts_about_one_shift(app, client, auth):
    from freezegun import freeze_time
    assert timedelta(hours=8) <= app.permanent_session_lifetime <= timedelta(hours=13)
    auth.login("office")
    assert client.get("/office/passes").status_code == 200
    with freeze_time(datetime.now(timezone.utc) + app.permanent_session_lifetime
                     + timedelta(minutes=1)):
        r = client.get("/office/passes")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wrong_passwords_are_counted_for_every_worker(app, client, make, database_url,
                                                      keys_dir):
    """The count lives in the database: a second app on the same database (another gunicorn
    worker) refuses a user the first one throttled."""
    from app import create_app

    make.user("office1", "office", "right-password-1")
    app.config["LOGIN_LIMIT_PER_USER"] = "3 per 5 minutes"
    assert [_try_login(client, "office1", f"wrong-{i}").status_code for i in range(3)] == [200] * 3
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                        "SQLALCHEMY_DATABASE_URI": database_url, "KEYS_DIR": str(keys_dir),
                        "SERVER_NAME": "localhost", "LOGIN_LIMIT_PER_USER": "3 per 5 minutes"})
    try:
        assert _try_login(other.test_client(), "office1", "right-password-1").status_code == 429
    finally:
        with other.app_context():
            from app.extensions import db
            db.session.remove()
            db.engine.dispose()


def test_setup_code_exchanges_are_throttled_even_when_refused(app, client):
    app.config["ENROLL_LIMIT"] = "2 per minute"
    codes = [client.post("/api/v1/enroll", json={"code": "x" * 32}).status_code
             for _ in range(3)]
    assert codes == [403, 403, 429]
    assert client.post("/api/v1/enroll", json={"code": "y" * 32}).get_json()["error"] \
        == "too_many_requests"
