"""Every PDF the product makes renders every character it draws (issue 15 §3: the certificate
printed "Hea☒th Certificate", a glyph missing from its embedded font subset).

Round trip through poppler: pdftotext must read back each text the page drew (a glyph left out
of a subset reads back as a gap), and pdffonts must show the fonts that carry text embedded,
subset and with a Unicode map. Cards, gate posters, certificates, duty sheets, notice posters and
the phone-link poster, each made through its command or page.
"""
import re

import pytest

from app.health.pdf import CERT_LABELS, CERT_NOTE, POSTER_NOTE, POSTER_STEPS
from helpers import csrf_token, login, pdf_fonts, pdf_text

COMMUNITY = "幸福里社区"
#: No letters: a subset cut from only the drawn data would then lack the Latin of fixed texts.
BASE = "https://10.8.0.1:8443"
_SPACE = re.compile(r"\s+")


@pytest.fixture(autouse=True)
def community(app):
    app.config["COMMUNITY_NAME"] = COMMUNITY
    app.config["PUBLIC_BASE_URL"] = BASE
    yield
    app.config["PUBLIC_BASE_URL"] = ""


def assert_round_trip(pdf, *drawn: str) -> str:
    """Each drawn text reads back (whitespace aside: pdftotext breaks lines where it likes),
    and every font that carries text is embedded with a Unicode map."""
    path = pdf
    if isinstance(pdf, bytes):
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as f:
            f.write(pdf)
        path = f.name
    text = _SPACE.sub("", pdf_text(path))
    missing = [t for t in drawn if _SPACE.sub("", t) not in text]
    assert missing == [], f"not read back: {missing}\n{text[:2000]}"
    fonts = [f for f in pdf_fonts(path) if f["name"] != "Helvetica"]  # reportlab's unused default
    assert fonts and all((f["emb"], f["uni"]) == ("yes", "yes") for f in fonts), fonts
    return text


def test_pass_cards(app, runner, make, tmp_path, keys_dir):
    make.pass_for(name="欧阳锋", building="3号楼", unit="2单元")
    make.pass_for(name="Li Lei", building="12号楼", unit="1单元")
    out = tmp_path / "cards.pdf"
    r = runner.invoke(args=["passes", "print", "--all", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert_round_trip(out, COMMUNITY, "欧*锋", "3号楼2单元", "有效期", "编号", "居民", "12号楼1单元")


def test_gate_poster(app, runner, tmp_path):
    out = tmp_path / "poster.pdf"
    r = runner.invoke(args=["health", "poster", "--gate", "East Gate 东门", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert_round_trip(out, COMMUNITY, "East Gate 东门 · 返乡人员扫码登记", *POSTER_STEPS, POSTER_NOTE,
                      f"{BASE}/register/")


def test_health_certificate(app, client, make, runner, tmp_path):
    from test_certificates import ended_episode
    ep = ended_episode(app, client, make)
    out = tmp_path / "cert.pdf"
    r = runner.invoke(args=["health", "certificate", str(ep), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert_round_trip(out, COMMUNITY, "健康证明", "Health Certificate", *CERT_LABELS,
                      "扫码核验本证明是否有效 / Scan to verify", CERT_NOTE, "（盖章）", "欧*锋", "期满解除")


def test_duty_sheet(app, client, make):
    make.device("North Gate 北门")
    login(client, make, "office")
    pdf = client.get("/office/duty/sheet.pdf?week=2026-12-07")
    assert pdf.mimetype == "application/pdf"
    assert_round_trip(pdf.data, COMMUNITY, "门岗值班表", "North Gate 北门", "周一 12/7", "周日 12/13")


def test_notice_and_link_posters(app, client, make):
    login(client, make, "office")
    token = csrf_token(client, "/office/notices")
    client.post("/office/notices", data={"csrf_token": token, "title": "Nucleic acid test 全员核酸",
                                         "body": "明早 8:00 在广场 (Plaza), bring your ID.",
                                         "audience": "everyone"})
    from app.extensions import db
    from app.duty.models import Notice
    with app.app_context():
        notice_id = db.session.scalar(db.select(Notice.id))
    pdf = client.get(f"/office/notices/{notice_id}/poster.pdf")
    assert_round_trip(pdf.data, COMMUNITY, "Nucleic acid test 全员核酸",
                      "明早 8:00 在广场 (Plaza), bring your ID.")
    pdf = client.get("/office/links/poster.pdf")
    assert_round_trip(pdf.data, COMMUNITY, "领取手机通行证", "如无法领取，请联系物业或居委会。",
                      f"{BASE}/p/find")
