"""Health certificates: the PDF's QR, the public check page, revoking, and the gate's answer.

The certificate is made by the real CLI, rendered with pypdfium2 and its QR
read with zxing-cpp; the URL it holds is then opened as a stranger would.
"""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.health.models import HealthCertificate, QuarantineEpisode
from gatepass import certificates as cert_tokens
from gatepass.tokens import HealthCertificate as CertificateSeen, KeyRing, decode, issue_static
from gatepass.verdict import verify

from helpers import csrf_token, login

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
from test_registration import pdf_qr_texts


def ended_episode(app, client, make, outcome="completed") -> int:
    person = make.person(name="欧阳锋")
    login(client, make, "health")
    token = csrf_token(client, "/office/quarantine")
    arrived = (datetime.now(timezone.utc) + timedelta(hours=8) - timedelta(days=15)).date().isoformat()
    client.post(f"/office/quarantine/{person}/start", data={"csrf_token": token, "days": 14, "arrived_on": arrived})
    with app.app_context():
        ep = db.session.scalar(db.select(QuarantineEpisode.id))
    client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": outcome})
    return ep


def certificate_url(runner, tmp_path, ep) -> str:
    out = tmp_path / "cert.pdf"
    r = runner.invoke(args=["health", "certificate", str(ep), "-o", str(out)])
    assert r.exit_code == 0, r.output
    texts = pdf_qr_texts(out)
    assert len(texts) == 1 and "/verify/GHC." in texts[0]
    return texts[0]


@BOTH
def test_certificate_qr_opens_a_page_that_says_valid_then_revoked(app, client, make, runner, tmp_path):
    ep = ended_episode(app, client, make)
    url = certificate_url(runner, tmp_path, ep)
    path = urlsplit(url).path
    anon = app.test_client()
    r = anon.get(path)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "有效" in page and "Valid" in page and "欧*锋" in page and "欧阳锋" not in page
    assert "已撤销" not in page
    # the same episode's certificate again is the same certificate, not a second one
    assert certificate_url(runner, tmp_path, ep) == url
    with app.app_context():
        cert = db.session.scalar(db.select(HealthCertificate))
        assert cert.number.startswith("JK") and db.session.scalar(db.select(db.func.count(HealthCertificate.id))) == 1
    page = client.get(f"/office/quarantine/episodes/{ep}").get_data(as_text=True)
    assert cert.number in page
    token = csrf_token(client, f"/office/quarantine/episodes/{ep}")
    r = client.post(f"/office/certificates/{cert.id}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert "请填写撤销原因" in r.get_data(as_text=True)
    client.post(f"/office/certificates/{cert.id}/revoke", data={"csrf_token": token, "reason": "信息有误"})
    page = anon.get(path).get_data(as_text=True)
    assert "已撤销" in page and "Revoked" in page and "有效 · Valid" not in page
    # a new one may be issued after revoking; the old QR stays revoked
    new_url = certificate_url(runner, tmp_path, ep)
    assert new_url != url and "有效" in anon.get(urlsplit(new_url).path).get_data(as_text=True)
    assert "已撤销" in anon.get(path).get_data(as_text=True)


def test_a_forged_or_foreign_token_is_never_shown_as_valid(app, client, make, runner, tmp_path):
    ep = ended_episode(app, client, make)
    path = urlsplit(certificate_url(runner, tmp_path, ep)).path
    token = path.rsplit("/", 1)[1]
    anon = app.test_client()
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    other_secret = cert_tokens.issue("someone-else's-key", 1)
    pass_token = "GPS.k1.1.1.AwqBrD35v36Oh9kz1PDj"
    for bad in (forged, other_secret, pass_token, "GHC.1", "nonsense"):
        r = anon.get(f"/verify/{bad}")
        page = r.get_data(as_text=True)
        assert r.status_code == 404 and "无效的证明" in page and "有效 · Valid" not in page, bad


def test_certificates_only_for_released_episodes(app, client, make, runner, tmp_path):
    person = make.person(name="还没完")
    login(client, make, "health")
    token = csrf_token(client, "/office/quarantine")
    client.post(f"/office/quarantine/{person}/start", data={"csrf_token": token, "days": 14})
    with app.app_context():
        ep = db.session.scalar(db.select(QuarantineEpisode.id))
    r = runner.invoke(args=["health", "certificate", str(ep), "-o", str(tmp_path / "c.pdf")])
    assert r.exit_code == 1 and "隔离尚未解除" in r.output and not (tmp_path / "c.pdf").exists()
    client.post(f"/office/quarantine/episodes/{ep}/end", data={"csrf_token": token, "outcome": "hospital"})
    r = runner.invoke(args=["health", "certificate", str(ep), "-o", str(tmp_path / "c.pdf")])
    assert r.exit_code == 1 and "不能开具健康证明" in r.output
    r = runner.invoke(args=["health", "certificate", "999", "-o", str(tmp_path / "c.pdf")])
    assert r.exit_code == 1 and "没有这条隔离记录" in r.output


def test_health_staff_issue_and_download_the_certificate_from_the_episode_page(app, client, make):
    ep = ended_episode(app, client, make)
    token = csrf_token(client, f"/office/quarantine/episodes/{ep}")
    client.post(f"/office/quarantine/episodes/{ep}/certificate", data={"csrf_token": token})
    with app.app_context():
        cert_id = db.session.scalar(db.select(HealthCertificate.id))
    r = client.get(f"/office/certificates/{cert_id}.pdf")
    assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    page = client.get("/office/certificates").get_data(as_text=True)
    assert "欧*锋" in page and "有效" in page


def test_the_gate_says_a_certificate_is_not_a_pass(app, client, make, runner, tmp_path, scan, keys_dir):
    ep = ended_episode(app, client, make)
    url = certificate_url(runner, tmp_path, ep)
    bare = urlsplit(url).path.rsplit("/", 1)[1]
    for text in (url, bare, url + "/"):
        body = scan(text, "in").get_json()
        assert (body["allowed"], body["reason"]) == (False, "HEALTH_CERTIFICATE"), text
        assert body["message"] == "这是健康证明，不是通行证"
        assert body["message_en"] == "This is a health certificate, not a pass"
    ring = KeyRing.load(keys_dir)
    with pytest.raises(CertificateSeen) as err:
        decode(ring, url)
    assert err.value.code == "HEALTH_CERTIFICATE"
    v = verify(bare, ring, lambda pid: None, datetime.now(timezone.utc))
    assert (v.allowed, v.reason) == (False, "HEALTH_CERTIFICATE")
    # and a pass token is never a certificate
    with pytest.raises(cert_tokens.BadCertificate):
        cert_tokens.decode(app.config["SECRET_KEY"], issue_static(ring, 1, 1))
    assert verify("https://weixin.qq.com/r/abc", ring, lambda pid: None,
                  datetime.now(timezone.utc)).reason == "BAD_FORMAT"


def test_the_gate_scanner_reads_a_certificate_qr_and_says_so_offline(tmp_path):
    """The live scanner's decoder chain keeps a certificate QR (it does not skip it as foreign)
    and its offline verdict names it, from a real rendered QR image."""
    import io

    import numpy as np
    from PIL import Image

    from gatepass import qrimage
    from gatepass.tokens import looks_like_ours
    from scanner.chain import DecoderChain
    from scanner.offline import OfflineJudge, SnapshotStore

    url = "https://gate.example.cn/verify/" + cert_tokens.issue("server-secret", 7)
    frame = np.asarray(Image.open(io.BytesIO(qrimage.png(url, 6))).convert("L"))
    result = DecoderChain(accept=looks_like_ours)(frame)
    assert result.text == url
    KeyRing.create_key(tmp_path / "keys", "k1")
    judge = OfflineJudge(KeyRing.load(tmp_path / "keys"), SnapshotStore(tmp_path / "s.json", "http://x"))
    v = judge.judge(result.text, "in")
    assert (v.allowed, v.reason, v.message) == (False, "HEALTH_CERTIFICATE", "这是健康证明，不是通行证")
    assert not looks_like_ours("https://qr.alipay.com/bax03431ljhokirwl38f00a7")
