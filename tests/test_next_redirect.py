"""Every ``next`` (the login's, a refused form's, a bulk action's) goes back to this site only.

Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
``/\t/evil.example`` is ``//evil.example``: another site.
"""
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.health.models import Registration
from helpers import csrf_token, login

FOREIGN = ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "//evil.example",
           "https://evil.example/", "/\x00/evil.example", " //evil.example", "javascript:alert(1)"]


def same_site(location: str) -> bool:
    """Where a browser would go, read as a browser reads it."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    parts = urlsplit(cleaned)
    return not parts.scheme and not parts.netloc or parts.netloc == "localhost"


@pytest.mark.parametrize("target", FOREIGN)
def test_a_refused_form_goes_back_to_this_site_only(app, client, make, target):
    with app.app_context():
        db.session.add(Registration(name="林晓", phone="13912345678", arrived_on=date(2026, 11, 30),
                                    consent_at=datetime(2026, 11, 30, tzinfo=timezone.utc)))
        db.session.commit()
        reg_id = db.session.scalar(db.select(Registration.id))
    login(client, make, "health")
    token = csrf_token(client, "/office/registrations")
    r = client.post(f"/office/registrations/{reg_id}/reject",  # no reason: refused, flashed, sent back
                    data={"csrf_token": token, "next": target})
    assert r.status_code == 302 and same_site(r.location), r.location
    r = client.post(f"/office/registrations/{reg_id}/reject",
                    data={"csrf_token": token, "next": "/office/registrations?x=1"})
    assert r.location == "/office/registrations?x=1"  # a path on this site is kept


@pytest.mark.parametrize("target", FOREIGN)
def test_login_next_stays_on_this_site(client, make, target):
    password = make.user("li", "office")
    r = client.post("/login", query_string={"next": target},
                    data={"username": "li", "password": password, "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.location == "/office/", r.location


def test_login_next_keeps_a_path_on_this_site(client, make):
    password = make.user("li", "office")
    r = client.post("/login", query_string={"next": "/office/people?q=王"},
                    data={"username": "li", "password": password, "csrf_token": csrf_token(client)})
    assert urlsplit(r.location).path == "/office/people"


@pytest.mark.parametrize("target", ["/\t/evil.example/office/passes", "/office/passes\\..\\x"])
def test_bulk_actions_go_back_to_the_pass_list_only(client, make, target):
    login(client, make, "office")
    r = client.post("/office/passes/bulk", data={"csrf_token": csrf_token(client, "/office/passes"),
                                                 "action": "suspend", "next": target})
    assert r.status_code == 302 and r.location == "/office/passes"
