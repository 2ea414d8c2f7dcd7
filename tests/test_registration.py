"""Self-registration at the gate (扫码登记): the poster's QR, the public form, the staff queue.

The poster is rendered by the real CLI and its QR read back with zxing-cpp
from a pypdfium2 rendering, as a phone would; the form is then used through
the Flask test client without logging in.
"""
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import zxingcpp

from app.extensions import db
from app.models import AuditEntry, Building, Gate, Household, Pass, Person
from app.health.readings import HealthAlert
from app.health.models import QuarantineEpisode, Registration
import pytest

from helpers import csrf_token, login

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

TZ = ZoneInfo("Asia/Shanghai")
ID = "110101199003071234"


def pdf_qr_texts(path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        img = doc[0].render(scale=150 / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    return [r.text for r in zxingcpp.read_barcodes(img.reshape(img.shape[:2]),
                                                   formats=zxingcpp.BarcodeFormat.QRCode)]


def community(app) -> int:
    """A gate and a building with a few homes; returns a household id."""
    from app.services.devices import create_device
    with app.app_context():
        create_device("东门")
        b = Building(name="3号楼")
        homes = [Household(building=b, unit="2单元", room=r) for r in ("301", "302")]
        db.session.add_all(homes)
        db.session.commit()
        return homes[0].id


def poster_path(app, runner, tmp_path) -> str:
    out = tmp_path / "poster.pdf"
    r = runner.invoke(args=["health", "poster", "--gate", "东门", "-o", str(out)])
    assert r.exit_code == 0, r.output
    texts = pdf_qr_texts(out)
    assert len(texts) == 1 and texts[0] == r.output.strip().splitlines()[-1]
    url = urlsplit(texts[0])
    assert url.path.startswith("/register/")
    return url.path


def form(client, path, **over):
    data = {"csrf_token": csrf_token(client, path), "name": "林晓", "phone": "13912345678", "id_card": ID,
            "origin": "海南省三亚市", "arrived_on": datetime.now(TZ).date().isoformat(),
            "travel_mode": "flight", "travel_number": "HU7181", "household_id": over.pop("household_id"),
            "reason": "返乡", "consent": "yes", **over}
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def test_poster_qr_opens_the_registration_form(app, client, runner, tmp_path):
    community(app)
    path = poster_path(app, runner, tmp_path)
    r = client.get(path)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "返乡人员扫码登记" in page and "东门" in page
    assert 'name="consent"' in page and 'name="csrf_token"' in page
    # the home in three steps (issue 17): building, unit, room
    assert all(f"<option>{x}</option>" in page for x in ("3号楼", "2单元", "301"))
    assert "<script" not in page.split("</head>")[1]  # a plain form: no JavaScript needed
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/register/forged-token").status_code == 404
    r = runner.invoke(args=["health", "poster", "--gate", "西门", "-o", str(tmp_path / "x.pdf")])
    assert r.exit_code == 0 and "created gate 西门" in r.output  # a poster may come before the laptop
    [url] = pdf_qr_texts(tmp_path / "x.pdf")
    assert "西门" in client.get(urlsplit(url).path).get_data(as_text=True)


@BOTH
def test_register_then_pending_then_approved_with_the_pass_link(app, client, make, runner, tmp_path):
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    r = form(client, path, household_id=home)
    assert r.status_code == 302 and "/register/status/" in r.location
    status = urlsplit(r.location).path
    page = client.get(status).get_data(as_text=True)
    assert "待审核" in page and "林*" in page and "林晓" not in page
    with app.app_context():
        reg = db.session.scalar(db.select(Registration))
        assert reg.id_card_masked == "1101**********1234" and ID not in str(vars(reg))
        assert (reg.status, reg.gate.name, reg.origin) == ("pending", "东门", "海南省三亚市")
    # the same phone again updates its pending entry instead of adding one
    r = form(client, path, household_id=home, origin="海南省海口市", symptoms="咳嗽")
    assert urlsplit(r.location).path == status
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 1
        assert db.session.scalar(db.select(Registration.origin)) == "海南省海口市"
    login(client, make, "health")
    page = client.get("/office/registrations").get_data(as_text=True)
    assert "海南省海口市" in page and "咳嗽" in page and 'id="nav-registrations">登记审核 <span class="count">1' in page
    token = csrf_token(client, "/office/registrations")
    r = client.post(f"/office/registrations/{reg.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已通过：林晓" in page and "没有待审核的登记" in page
    link = re.search(r'class="link-box pass-link" readonly value="http://localhost(/p/[^"]+)"', page).group(1)
    with app.app_context():
        person = db.session.scalar(db.select(Person).where(Person.phone == "13912345678"))
        ep = db.session.scalar(db.select(QuarantineEpisode).where(QuarantineEpisode.person_id == person.id))
        assert (person.name, person.household_id, person.id_card_masked) == ("林晓", home, "1101**********1234")
        assert ep.is_open and ep.origin == "海南省海口市" and ep.travel_number == "HU7181"
        assert ep.started_at.astimezone(TZ).date() == datetime.now(TZ).date()
        assert db.session.scalar(db.select(Pass).where(Pass.person_id == person.id)).status == "active"
        assert db.session.scalar(db.select(HealthAlert.kind)) == "symptom"  # reported at registration
        assert "health.registrations" in db.session.scalars(db.select(AuditEntry.action)).all()
    r = client.post(f"/office/registrations/{reg.id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "这条登记已处理" in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    page = client.get(status).get_data(as_text=True)
    assert "已通过" in page and f'href="{link}"' in page
    assert client.get(link).status_code == 200  # the personal pass page


def known_resident(app, make, name="林晓", id_masked="1101**********1234") -> tuple[int, int]:
    """A resident on file with the form's phone: (person id, pass id)."""
    known = make.person(name=name, phone="13912345678")
    with app.app_context():
        db.session.get(Person, known).id_card_masked = id_masked
        db.session.commit()
    return known, make.pass_for(known)


def approve(client, reg_id, **data):
    token = csrf_token(client, "/office/registrations")
    return client.post(f"/office/registrations/{reg_id}/approve", data={"csrf_token": token, **data},
                       follow_redirects=True)


def test_approval_as_the_same_person_is_explicit_and_keeps_the_old_link_off_the_status_page(
        app, client, make, runner, tmp_path):
    home = community(app)
    known, pid = known_resident(app, make)
    path = poster_path(app, runner, tmp_path)
    status = urlsplit(form(client, path, household_id=home,
                           arrived_on=(datetime.now(TZ) - timedelta(days=3)).date().isoformat()).location).path
    login(client, make, "health")
    with app.app_context():
        reg_id = db.session.scalar(db.select(Registration.id))
    assert "请核对后选择" in approve(client, reg_id).get_data(as_text=True)  # no choice: refused
    approve(client, reg_id, **{"as": "same", "person_id": known})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Person.id))) == 1
        reg = db.session.get(Registration, reg_id)
        assert (reg.person_id, reg.pass_id, reg.link_version) == (known, pid, None)
        ep = db.session.get(QuarantineEpisode, reg.episode_id)
        assert ep.started_at == datetime.combine((datetime.now(TZ) - timedelta(days=3)).date(),
                                                 datetime.min.time(), TZ)  # from the arrival day
    page = client.get("/office/registrations").get_data(as_text=True)
    assert 'class="link-box pass-link"' in page  # staff may send it, after checking
    page = client.get(status).get_data(as_text=True)
    assert "已通过" in page and "/p/" not in page and "通行证链接请向社区工作人员索取" in page


def test_a_phone_on_file_is_no_proof_the_staff_see_what_differs_and_choose(app, client, make, runner, tmp_path):
    """An anonymous form with a resident's phone and another name never reaches that resident."""
    home = community(app)
    known, pid = known_resident(app, make, name="王建国", id_masked="3201**********5678")
    with app.app_context():
        old_link = issuing_link(pid)
    path = poster_path(app, runner, tmp_path)
    status = urlsplit(form(client, path, household_id=home).location).path
    login(client, make, "health")
    page = client.get("/office/registrations").get_data(as_text=True)
    card = page[page.index('data-match="'):page.index("最近处理")]
    assert "林晓" in card and "王建国" in card and "1234" in card and "5678" in card
    assert "3号楼2单元301" in card and "不同或无记录" in card
    assert re.search(r'<button type="submit" class="primary" disabled>同一人', card)
    with app.app_context():
        reg_id = db.session.scalar(db.select(Registration.id))
    r = approve(client, reg_id, **{"as": "same", "person_id": known})
    assert "不能按同一人通过" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Registration, reg_id).status == "pending"
        assert db.session.scalar(db.select(db.func.count(QuarantineEpisode.id))) == 0
    r = approve(client, reg_id, **{"as": "new"})
    assert "已属于另一人员，新人员未记录手机号" in r.get_data(as_text=True)
    with app.app_context():
        reg = db.session.get(Registration, reg_id)
        new = db.session.get(Person, reg.person_id)
        assert new.id != known and (new.name, new.phone, new.household_id) == ("林晓", None, home)
        resident = db.session.get(Person, known)
        assert resident.quarantine_until is None and not resident.is_returnee
        assert db.session.get(Pass, pid).status == "active" and reg.pass_id != pid
    page = client.get(status).get_data(as_text=True)
    assert old_link not in page and 'id="pass-link"' in page  # the registrant's own new pass


def issuing_link(pass_id: int) -> str:
    from app.services import issuing
    return f"/p/{issuing.resident_link_token(db.session.get(Pass, pass_id))}"


def test_the_status_link_stops_showing_the_pass_link_once_the_office_resets_it(app, client, make, runner, tmp_path):
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    status = urlsplit(form(client, path, household_id=home).location).path
    login(client, make, "health")
    with app.app_context():
        reg_id = db.session.scalar(db.select(Registration.id))
    approve(client, reg_id)
    with app.app_context():
        pass_id = db.session.get(Registration, reg_id).pass_id
        first = issuing_link(pass_id)
    assert f'href="{first}"' in client.get(status).get_data(as_text=True)
    office = login(app.test_client(), make, "office")
    office.post(f"/office/passes/{pass_id}/revoke-link",
                data={"csrf_token": csrf_token(office, f"/office/passes/{pass_id}")})
    with app.app_context():
        second = issuing_link(pass_id)
    assert second != first
    page = client.get(status).get_data(as_text=True)
    assert "/p/" not in page and "通行证链接请向社区工作人员索取" in page


def test_the_same_phone_from_another_device_is_a_new_entry_flagged_for_staff(app, client, make, runner, tmp_path):
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    first = urlsplit(form(client, path, household_id=home).location).path
    stranger = app.test_client()
    r = form(stranger, path, household_id=home, name="冒名", id_card="110101199003079999", origin="别处")
    second = urlsplit(r.location).path
    assert r.status_code == 302 and second != first
    assert "冒*" in stranger.get(second).get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(db.select(Registration).order_by(Registration.id)).all()
        assert [(x.name, x.origin, x.status) for x in rows] == [("林晓", "海南省三亚市", "pending"),
                                                                ("冒名", "别处", "pending")]
    assert "林*" in client.get(first).get_data(as_text=True)
    login(client, make, "health")
    page = client.get("/office/registrations").get_data(as_text=True)
    assert page.count("可能重复：同一手机号还有 1 条登记") == 2
    approve(client, rows[0].id)  # the first becomes a person with that phone ...
    page = client.get("/office/registrations").get_data(as_text=True)
    assert 'data-match="' in page and "冒名" in page  # ... so the second must be checked against them


def test_registration_links_are_redacted_in_app_logs():
    import logging

    from gatepass.logs import RedactSecrets
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /register/status/eyJ.SECRET1 HTTP/1.1", "200"), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1 - - "GET /register/status/… HTTP/1.1" 200'
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "poster /register/SECRET2?x=1", None, None)
    RedactSecrets().filter(record)
    assert record.getMessage() == "poster /register/…?x=1"


def test_reject_with_a_reason_shows_on_the_status_page(app, client, make, runner, tmp_path):
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    status = urlsplit(form(client, path, household_id=home).location).path
    login(client, make, "health")
    token = csrf_token(client, "/office/registrations")
    with app.app_context():
        reg_id = db.session.scalar(db.select(Registration.id))
    r = client.post(f"/office/registrations/{reg_id}/reject", data={"csrf_token": token}, follow_redirects=True)
    assert "请填写不通过的原因" in r.get_data(as_text=True)
    client.post(f"/office/registrations/{reg_id}/reject", data={"csrf_token": token, "reason": "非本社区住户"})
    page = client.get(status).get_data(as_text=True)
    assert "未通过" in page and "非本社区住户" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(QuarantineEpisode.id))) == 0


def test_bad_input_is_a_clear_400_with_the_form_kept(app, client, runner, tmp_path):
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    r = form(client, path, household_id=home, consent=None, phone="12345", id_card="123")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "须同意处理健康信息才能登记" in page
    assert "请填写 11 位手机号" in page and "身份证号应为 18 位" in page
    assert 'value="林晓"' in page and 'value="海南省三亚市"' in page  # nothing lost
    assert ID not in page  # except the ID number, never echoed
    r = form(client, path, household_id=99999, arrived_on=(datetime.now(TZ) + timedelta(days=2)).date().isoformat())
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "请选择楼栋、单元和房号" in page and "到达日期应在最近 30 天内" in page
    r = client.post(path, data={"name": "x"})  # no CSRF token
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_rate_limited_per_address(app, client, runner, tmp_path):
    app.config["REGISTRATION_RATE_LIMIT"] = 3
    home = community(app)
    path = poster_path(app, runner, tmp_path)
    for i in range(3):
        assert form(client, path, household_id=home, phone=f"1391234560{i}").status_code == 302
    r = form(client, path, household_id=home, phone="13912345699")
    assert r.status_code == 429 and "提交次数过多" in r.get_data(as_text=True)
    other = app.test_client()
    r = form(other, path, household_id=home, phone="13912345698")
    assert r.status_code == 429  # same address (127.0.0.1) from another browser
    r = other.post(path, environ_base={"REMOTE_ADDR": "10.1.2.3"},
                   data={"csrf_token": csrf_token(other, path), "name": "别处", "phone": "13912345697",
                         "id_card": ID, "origin": "北京", "arrived_on": datetime.now(TZ).date().isoformat(),
                         "travel_mode": "car", "household_id": home, "consent": "yes"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 4


def test_the_office_prints_posters_from_a_page(app, client, make):
    community(app)
    login(client, make, "office")
    page = client.get("/office/posters").get_data(as_text=True)
    assert "东门" in page and "下载海报 PDF" in page
    with app.app_context():
        gate_id = db.session.scalar(db.select(Gate.id))
    r = client.get(f"/office/posters/{gate_id}.pdf")
    assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert client.get("/office/registrations").status_code == 403  # the queue is health staff's
