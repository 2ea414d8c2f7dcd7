"""Every command and page that prints a URL into a QR says where it points when PUBLIC_BASE_URL
is unset (issue 15 §3: `health poster` printed a QR of http://127.0.0.1:5000 without a word), and
the poster page shows the URL it encodes as text."""
from urllib.parse import urlsplit

import pytest

from helpers import login
from test_registration import pdf_qr_texts

WARNING = "warning: no PUBLIC_BASE_URL set"
PAGE_WARNING = 'id="base-url-warning"'
PUBLIC = "https://pass.example.org"


@pytest.fixture
def public(app):
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    yield PUBLIC
    app.config["PUBLIC_BASE_URL"] = ""


def test_health_poster_warns_without_a_public_base_url(app, runner, tmp_path):
    out = tmp_path / "poster.pdf"
    r = runner.invoke(args=["health", "poster", "--gate", "东门", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert WARNING in r.stderr and "the poster's QR points to http://127.0.0.1:5000" in r.stderr
    assert pdf_qr_texts(out)[0].startswith("http://127.0.0.1:5000/register/")


def test_health_poster_is_quiet_and_prints_the_public_url_when_set(app, runner, tmp_path, public):
    out = tmp_path / "poster.pdf"
    r = runner.invoke(args=["health", "poster", "--gate", "东门", "-o", str(out)])
    assert r.exit_code == 0 and WARNING not in r.output
    assert pdf_qr_texts(out)[0].startswith(f"{PUBLIC}/register/")


def test_devices_enroll_warns_about_its_setup_qr(app, runner, tmp_path):
    r = runner.invoke(args=["devices", "enroll", "--gate", "东门", "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 0, r.output
    assert WARNING in r.stderr and "the setup QR points to http://127.0.0.1:5000" in r.stderr
    r = runner.invoke(args=["devices", "enroll", "--gate", "东门", "--server", "https://gate.example.org",
                            "-o", str(tmp_path / "s2.png")])
    assert r.exit_code == 0 and WARNING not in r.output


def test_passes_links_warns_through_the_same_helper(app, runner, tmp_path, make):
    make.pass_for(name="张三")
    r = runner.invoke(args=["passes", "links", "-o", str(tmp_path / "l.csv")])
    assert r.exit_code == 0 and WARNING in r.stderr and "every link points to" in r.stderr


def test_qr_pages_warn_and_the_poster_page_shows_the_url_in_text(app, client, make, runner, tmp_path):
    runner.invoke(args=["health", "poster", "--gate", "东门", "-o", str(tmp_path / "p.pdf")])
    login(client, make, "office")
    page = client.get("/office/posters").get_data(as_text=True)
    assert PAGE_WARNING in page and "http://localhost/register/" in page  # the URL, as text
    assert PAGE_WARNING in client.get("/office/notices").get_data(as_text=True)


def test_qr_pages_are_quiet_and_the_link_poster_uses_the_public_url_when_set(app, client, make, runner,
                                                                             tmp_path, public):
    runner.invoke(args=["health", "poster", "--gate", "东门", "-o", str(tmp_path / "p.pdf")])
    login(client, make, "office")
    page = client.get("/office/posters").get_data(as_text=True)
    assert PAGE_WARNING not in page and f'<p class="small mono qr-url">{PUBLIC}/register/' in page
    assert PAGE_WARNING not in client.get("/office/notices").get_data(as_text=True)
    pdf = tmp_path / "links.pdf"
    pdf.write_bytes(client.get("/office/links/poster.pdf").data)
    url = pdf_qr_texts(pdf)[0]
    assert url.startswith(PUBLIC) and urlsplit(url).path == "/p/find"
