"""Printed pass cards: the CLI, the PDF itself, and the office download.

The PDFs are read back here on their own terms: whole pages rasterised
with pypdfium2, cut into card cells by the sheet's geometry measured here,
each cell's QR decoded with zxing-cpp and matched with the code printed on
the same card, not with the printing module's layout helpers or --verify.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp

from app.demo import build_community
from app.extensions import db
from app.models import Building, Household, Pass, Person, Vehicle
from gatepass.tokens import KeyRing, decode
from app.services import issuing

from helpers import csrf_token, login

MM = 72 / 25.4
CARD_W, CARD_H = 85.6 * MM, 54 * MM
A4_W, A4_H = 210 * MM, 297 * MM
DPI = 300


@pytest.fixture
def demo(app, make):
    """25 demo passes in 1号楼 (residents, tenants, sanitation, vehicles, one
    reissued, one suspended, one revoked), a courier with a dated pass and
    two households in 2号楼."""
    with app.app_context():
        build_community(25, scans=False)
        db.session.commit()
    courier = make.pass_for(name="欧阳修远", category="courier", building="1号楼")
    make.pass_for(name="钱二", category="resident", building="2号楼", room="301")
    make.pass_for(name="孙三", category="tenant", building="2号楼", room="302")
    with app.app_context():
        p = db.session.get(Pass, courier)
        p.valid_until = datetime(2031, 6, 30, 12, tzinfo=timezone.utc)
        db.session.commit()
    return app


def active_tokens(app, where=None) -> dict[str, int]:
    """Static token -> pass id for active passes (optionally filtered)."""
    with app.app_context():
        stmt = db.select(Pass).where(Pass.status == "active")
        if where is not None:
            stmt = stmt.where(where)
        return {issuing.static_token(p): p.id for p in db.session.scalars(stmt)}


def read_sheets(pdf: Path | bytes) -> list[list[dict]]:
    """Per page, each card cell's QR: its text, slot, and the code printed on that card.

    The page is rasterised whole and cut into cells by the sheet's geometry
    as measured here (a cell with no card is skipped, a cell with two QR
    codes fails); the QR must sit on the right half of its card.
    """
    doc = pdfium.PdfDocument(pdf)
    pages = []
    grid_x, grid_y = (A4_W - 2 * CARD_W) / 2, (A4_H - 5 * CARD_H) / 2
    px = DPI / 72
    for page in doc:
        width, height = page.get_size()
        assert (round(width), round(height)) == (595, 842), "A4 portrait"
        img = page.render(scale=px, grayscale=True).to_numpy()
        img = img.reshape(img.shape[0], img.shape[1])
        text = page.get_textpage()
        cards = []
        for slot in range(10):
            row, col = divmod(slot, 2)
            left, bottom = grid_x + col * CARD_W, grid_y + (4 - row) * CARD_H
            cell = np.ascontiguousarray(img[round((height - bottom - CARD_H) * px):
                                            round((height - bottom) * px),
                                            round(left * px):round((left + CARD_W) * px)])
            found = zxingcpp.read_barcodes(cell, formats=zxingcpp.BarcodeFormat.QRCode)
            printed = text.get_text_bounded(left + 1, bottom + 1, left + CARD_W - 1,
                                            bottom + CARD_H - 1)
            if not found:
                assert not printed.strip(), f"a card without a readable QR: {printed!r}"
                continue
            assert len(found) == 1, f"{len(found)} QR codes on one card"
            pos = found[0].position
            assert (pos.top_left.x + pos.bottom_right.x) / 2 > cell.shape[1] / 2
            codes = re.findall(r"P\d{6}-\d+", printed)
            cards.append({"token": found[0].text, "ec": found[0].ec_level, "slot": slot,
                          "code": codes[0] if len(codes) == 1 else None, "text": printed})
        pages.append(cards)
    doc.close()
    return pages


def print_cli(runner, out: Path, *args: str):
    return runner.invoke(args=["passes", "print", *args, "-o", str(out)])


def printed_ids(pages, keys_dir) -> list[int]:
    ring = KeyRing.load(keys_dir)
    return [decode(ring, c["token"]).pass_id for page in pages for c in page]


def test_cli_prints_every_active_pass_and_verifies(demo, runner, tmp_path, keys_dir):
    out = tmp_path / "all.pdf"
    result = print_cli(runner, out, "--all", "--verify")
    assert result.exit_code == 0, result.output
    expected = active_tokens(demo)
    assert f"verified {len(expected)} cards, 0 failed" in result.output
    assert out.read_bytes().startswith(b"%PDF")
    pages = read_sheets(out)
    assert len(pages) == math.ceil(len(expected) / 10)
    assert [len(p) for p in pages[:-1]] == [10] * (len(pages) - 1)
    cards = [c for page in pages for c in page]
    assert sorted(c["token"] for c in cards) == sorted(expected)  # each exactly once
    ring = KeyRing.load(keys_dir)
    for c in cards:
        claims = decode(ring, c["token"])
        assert not claims.dynamic and c["ec"] == "M"
        # the QR is on the card that prints its code
        assert c["code"] == f"P{claims.pass_id:06d}-{claims.serial}", c["text"]
    # slots fill row by row from the top left
    assert [c["slot"] for c in pages[0]] == list(range(10))


def test_card_text(demo, runner, tmp_path):
    out = tmp_path / "all.pdf"
    assert print_cli(runner, out, "--all").exit_code == 0
    by_code = {c["code"]: c["text"] for page in read_sheets(out) for c in page}
    with demo.app_context():
        courier = db.session.scalar(db.select(Pass).where(Pass.category == "courier"))
        text = by_code[courier.code]
        assert "幸福里社区" in text and "快递外卖" in text
        assert "欧**远" in text and "欧阳修远" not in text  # masked holder
        assert "有效期" in text and "—2031-06-30" in text
        car = db.session.scalar(db.select(Pass).where(Pass.category == "vehicle",
                                                      Pass.status == "active"))
        assert car.vehicle.plate in by_code[car.code] and "车辆" in by_code[car.code]
        resident = db.session.scalar(db.select(Pass).join(Person).where(
            Pass.category == "resident", Pass.status == "active"))
        text = by_code[resident.code]
        assert resident.address in text and "长期有效" in text and "居民" in text
        assert resident.person.masked_name in text


def test_reissued_card_prints_the_new_serial(demo, runner, tmp_path, keys_dir):
    with demo.app_context():
        p = db.session.scalar(db.select(Pass).where(Pass.status == "active", Pass.serial == 1))
        old_token = issuing.static_token(p)
        issuing.reissue(p)
        db.session.commit()
        pass_id, new_token = p.id, issuing.static_token(p)
        code = p.code
    out = tmp_path / "reissued.pdf"
    assert print_cli(runner, out, "--all").exit_code == 0
    cards = {c["token"]: c for page in read_sheets(out) for c in page}
    assert new_token in cards and old_token not in cards
    assert cards[new_token]["code"] == code == f"P{pass_id:06d}-2"


def test_qr_is_vector_not_an_image(demo, runner, tmp_path):
    out = tmp_path / "all.pdf"
    assert print_cli(runner, out, "--category", "resident").exit_code == 0
    data = out.read_bytes()
    assert not re.search(rb"/Subtype\s*/Image", data)  # no image XObject at all
    doc = pdfium.PdfDocument(out)
    for page in doc:
        kinds = [obj.type for obj in page.get_objects(max_depth=5)]
        assert pdfium.raw.FPDF_PAGEOBJ_IMAGE not in kinds
        assert kinds.count(pdfium.raw.FPDF_PAGEOBJ_PATH) >= 10
    fonts = re.findall(rb"/FontFile2", data)
    assert fonts, "the CJK font is embedded"
    doc.close()


def in_building(app, name):
    with app.app_context():
        b = db.session.scalar(db.select(Building).where(Building.name == name))
    here = db.select(Household.id).where(Household.building_id == b.id)
    return db.or_(Pass.person_id.in_(db.select(Person.id).where(Person.household_id.in_(here))),
                  Pass.vehicle_id.in_(db.select(Vehicle.id).where(Vehicle.household_id.in_(here))))


def test_filters_pick_the_right_passes(demo, runner, tmp_path):
    b1, b2 = in_building(demo, "1号楼"), in_building(demo, "2号楼")
    for args, where in ((["--building", "1"], b1),
                        (["--building", "2号楼"], b2),
                        (["--category", "tenant"], Pass.category == "tenant"),
                        (["--category", "vehicle", "--building", "1"],
                         db.and_(Pass.category == "vehicle", b1))):
        expected = active_tokens(demo, where)
        assert expected, args
        out = tmp_path / "f.pdf"
        result = print_cli(runner, out, *args)
        assert result.exit_code == 0, (args, result.output)
        pages = read_sheets(out)
        assert sorted(c["token"] for p in pages for c in p) == sorted(expected), args
    assert len(active_tokens(demo, b2)) == 2


def test_since_picks_new_and_reissued_passes(demo, runner, tmp_path, make):
    old = datetime.now(timezone.utc) - timedelta(days=40)
    with demo.app_context():
        db.session.execute(db.update(Pass).values(issued_at=old, updated_at=old))
        db.session.commit()
        lost = db.session.scalar(db.select(Pass).where(Pass.status == "active").limit(1))
        issuing.reissue(lost)
        db.session.commit()
        lost_id = lost.id
    new_id = make.pass_for(name="新住户", building="2号楼")
    since = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()
    out = tmp_path / "since.pdf"
    result = print_cli(runner, out, "--since", since)
    assert result.exit_code == 0, result.output
    tokens = [c["token"] for p in read_sheets(out) for c in p]
    assert sorted(tokens) == sorted(active_tokens(demo, Pass.id.in_([lost_id, new_id])))
    result = print_cli(runner, out, "--since", "2999-01-01")
    assert result.exit_code != 0 and "no active pass" in result.output


def test_no_selection_is_refused(demo, runner, tmp_path):
    out = tmp_path / "none.pdf"
    result = print_cli(runner, out)
    assert result.exit_code != 0
    assert "--all" in result.output
    assert not out.exists()
    result = print_cli(runner, out, "--building", "99号楼")
    assert result.exit_code != 0 and "no building 99号楼" in result.output


def test_verify_reports_a_card_that_does_not_match(demo, runner, tmp_path):
    """--verify must be able to fail: a PDF printed, then a pass reissued."""
    from app.pdf.sheet import Card
    from app.pdf.verify import verify_pdf
    from app.services import printing
    with demo.app_context():
        job = printing.print_passes(printing.Selection(category="resident"), tmp_path / "r.pdf")
        assert verify_pdf(job.path, job.cards).ok
        wrong = list(job.cards)
        wrong[3] = Card(**{**wrong[3].__dict__, "token": wrong[4].token})
        report = verify_pdf(job.path, wrong)
        assert report.checked == len(job.cards)
        assert [c.code for c, _got in report.failures] == [wrong[3].code]


# -- office page ---------------------------------------------------------------

@pytest.mark.parametrize("role", ["guard", "health"])
def test_print_page_is_for_the_office(demo, client, make, role):
    login(client, make, role)
    assert client.get("/office/print").status_code == 403
    assert client.post("/office/print", data={}).status_code in (400, 403)


def test_office_downloads_a_pdf(demo, client, make):
    login(client, make, "office")
    page = client.get("/office/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "打印通行证" in html and "1号楼" in html and 'name="since"' in html
    resp = client.post("/office/print", data={"csrf_token": csrf_token(client, "/office/print"),
                                              "building": "", "category": "vehicle",
                                              "since": ""})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf"
    assert re.search(r'filename="?passes-\d{8}\.pdf', resp.headers["Content-Disposition"])
    assert resp.data.startswith(b"%PDF")
    tokens = [c["token"] for p in read_sheets(resp.data) for c in p]
    assert sorted(tokens) == sorted(active_tokens(demo, Pass.category == "vehicle"))
    # no filter: everything active
    resp = client.post("/office/print", data={"csrf_token": csrf_token(client, "/office/print")})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert len(pdfium.PdfDocument(resp.data)) == math.ceil(len(active_tokens(demo)) / 10)


def test_print_post_without_csrf_is_rejected(demo, client, make):
    login(client, make, "office")
    resp = client.post("/office/print", data={"category": "vehicle"})
    assert resp.status_code == 400
    assert not resp.data.startswith(b"%PDF")


def test_admin_sees_the_nav_link(demo, client, make):
    login(client, make, "admin")
    html = client.get("/office/").get_data(as_text=True)
    assert 'href="/office/print"' in html


def test_building_is_spelled_as_the_roster_import_spells_it(demo, runner, tmp_path, make):
    """"3", "3号楼", "3栋" name one building, as in a roster import: a print run and an import
    never disagree about which building is meant."""
    make.pass_for(name="栋住户", building="5栋")
    for args, name in ((["--building", "2栋"], "2号楼"), (["--building", "5"], "5栋")):
        out = tmp_path / "b.pdf"
        result = print_cli(runner, out, *args)
        assert result.exit_code == 0, (args, result.output)
        expected = active_tokens(demo, in_building(demo, name))
        assert sorted(c["token"] for p in read_sheets(out) for c in p) == sorted(expected), args
