"""The English catalogue is complete, and the language choice works and sticks."""
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from helpers import ROOT, csrf_token, login

PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def _catalog():
    with PO.open("rb") as fh:
        return read_po(fh)


def _messages():
    return [m for m in _catalog() if m.id]


def test_every_message_has_an_english_text_and_none_is_fuzzy():
    messages = _messages()
    assert len(messages) > 100
    untranslated = [m.id for m in messages if not m.string or not str(m.string).strip()]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_placeholders_survive_translation():
    for m in _messages():
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), m.id


def test_english_text_has_no_chinese_left():
    """Chinese in an English text only where it is a name to type, like a gate's."""
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
    leftovers = [(m.id, run) for m in _messages() for run in cjk.findall(m.string)
                 if run not in m.id or run in "，。：；（）"]
    assert leftovers == []


def test_catalogue_covers_every_string_in_the_source(tmp_path):
    """A page string added without its English fails here, not in front of a user."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", "babel.cfg", "-o", str(pot), "."], cwd=ROOT, check=True)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    have = {m.id for m in _messages()}
    assert sorted(wanted - have) == []


@pytest.fixture
def compiled():
    """The app reads the compiled .mo (``make`` compiles it); compile if stale."""
    mo = PO.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < PO.stat().st_mtime:
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile",
                        "-d", str(ROOT / "app" / "translations")], check=True,
                       capture_output=True)  # (Babel 2.x compile has no -q)


def test_chinese_by_default_english_on_request_and_it_sticks(client, make, compiled):
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "工作人员登录" in page
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "Staff login" in page and "工作人员登录" not in page
    page = client.get("/login").get_data(as_text=True)  # no ?lang: the session remembers
    assert 'lang="en"' in page and "Staff login" in page

    password = make.user("wang", "office")
    r = client.post("/login", data={"username": "wang", "password": "nope",
                                    "csrf_token": csrf_token(client)})
    assert "Wrong username or password" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "wang", "password": password,
                                    "csrf_token": csrf_token(client)})
    assert r.status_code == 302
    home = client.get("/office/").get_data(as_text=True)
    assert "Overview" in home and "概览" not in home

    page = client.get("/office/?lang=zh").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "今日概览" in page


def test_an_unknown_language_is_ignored(client, make, compiled):
    login(client, make, "office")
    page = client.get("/office/?lang=fr").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "今日概览" in page


def test_the_language_link_keeps_the_page_and_its_filters(client, make, compiled):
    login(client, make, "office")
    page = client.get("/office/scans?direction=in&reason=REVOKED&page=2").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">English</a>', page).group(1).replace("&amp;", "&")
    assert link.startswith("/office/scans?")
    assert {"direction=in", "reason=REVOKED", "page=2", "lang=en"} <= set(link.split("?")[1].split("&"))
    page = client.get(link).get_data(as_text=True)
    assert 'lang="en"' in page
    back = re.search(r'<a href="([^"]+)">中文</a>', page).group(1).replace("&amp;", "&")
    assert "lang=zh" in back and "lang=en" not in back and "reason=REVOKED" in back
