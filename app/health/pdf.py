"""The two printed things of home quarantine: the gate poster (扫码登记) and the health certificate.

A4, Chinese text in an embedded Noto Sans CJK subset (see ``app.pdf.fonts``), the
QR a vector path from ``app.pdf.qr`` so it is crisp at any printer's
resolution. Both QRs are URLs: any phone camera (or WeChat's scanner) opens
them without an app.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from ..pdf.fonts import ASCII, register_fonts
from ..pdf.qr import draw_qr

PAGE_W, PAGE_H = A4
POSTER_QR = 120 * mm
CERT_QR = 42 * mm
POSTER_STEPS = (
    "1. 用手机微信或相机扫描下方二维码",
    "2. 如实填写姓名、手机、身份证号、从何处来、到达日期和住址",
    "3. 提交后保存“登记状态”链接，等待社区审核",
    "4. 审核通过后即可打开本人的通行证；居家隔离期间请每天上午、下午各报一次体温",
)

POSTER_NOTE = "无需下载应用，不收集任何费用。如有疑问请联系门岗或社区卫生服务站。"
CERT_NOTE = "本证明仅证明隔离期间情况，涂改无效。"


def _chars(*texts: str) -> str:
    """Every character the page draws must be listed: a glyph left out of the embedded
    subset prints as a box ("Hea☒th Certificate"). Printable ASCII is always in."""
    return "".join(sorted(set("".join(texts) + ASCII + "—·（）℃")))


def _fit(text: str, font: str, size: float, width: float) -> float:
    w = pdfmetrics.stringWidth(text, font, size)
    return size * width / w if w > width else size


def poster(community: str, gate: str, url: str) -> bytes:
    """An A4 poster for one gate: who we are, what to do, one big QR of the signed form URL."""
    title = "返乡人员扫码登记"
    regular, bold, _desc = register_fonts(_chars(community, gate, *POSTER_STEPS, url, POSTER_NOTE),
                                          _chars(community, gate, title))
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(f"{community} {gate} {title}")
    c.setCreator("gatepass")
    c.setFillColorRGB(0.75, 0.11, 0.11)
    c.rect(0, PAGE_H - 52 * mm, PAGE_W, 52 * mm, stroke=0, fill=1)
    c.setFillGray(1)
    c.setFont(bold, _fit(community, bold, 30, PAGE_W - 30 * mm))
    c.drawCentredString(PAGE_W / 2, PAGE_H - 24 * mm, community)
    c.setFont(bold, 22)
    c.drawCentredString(PAGE_W / 2, PAGE_H - 40 * mm, f"{gate} · {title}")
    c.setFillGray(0)
    y = PAGE_H - 68 * mm
    for step in POSTER_STEPS:
        c.setFont(regular, _fit(step, regular, 14, PAGE_W - 30 * mm))
        c.drawString(15 * mm, y, step)
        y -= 9 * mm
    qr_y = y - 4 * mm - POSTER_QR
    draw_qr(c, url, (PAGE_W - POSTER_QR) / 2, qr_y, POSTER_QR)
    c.setFont(regular, 11)
    c.setFillGray(0.3)
    c.drawCentredString(PAGE_W / 2, qr_y - 8 * mm, POSTER_NOTE)
    c.setFont(regular, 7)
    c.drawCentredString(PAGE_W / 2, 10 * mm, url if len(url) < 120 else url[:117] + "…")
    c.showPage()
    c.save()
    return buf.getvalue()


SEAL = "（盖章）"


@dataclass(frozen=True)
class CertificateText:
    """What a certificate prints, as text: rendering needs no database."""

    community: str
    number: str
    holder: str  # masked
    id_card: str  # masked
    address: str
    period: str  # "2026-11-01 — 2026-11-15"
    days: str
    issued: str  # "社区医生 李大夫 · 2026-11-15 10:20"
    url: str
    statement: str  # gatepass.quarantine.certificate_statement: how the stay really went


CERT_LABELS = ("证明编号", "姓名", "身份证号", "住址", "居家隔离", "签发")


def certificate(t: CertificateText) -> bytes:
    """One A4 page: the certificate, and its QR of the public check URL."""
    title = "健康证明"
    body = t.statement
    check = "扫码核验本证明是否有效 / Scan to verify"
    subtitle = "Health Certificate"
    values = [t.number, t.holder, t.id_card, t.address, f"{t.period}（{t.days}）", t.issued]
    regular, bold, _desc = register_fonts(
        _chars(t.community, body, check, subtitle, *values, *CERT_LABELS, t.url, CERT_NOTE, SEAL),
        _chars(t.community, title, t.number, t.holder))
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(f"{t.community} {title} {t.number}")
    c.setCreator("gatepass")
    left, right = 25 * mm, PAGE_W - 25 * mm
    c.setFont(bold, 16)
    c.drawCentredString(PAGE_W / 2, PAGE_H - 30 * mm, t.community)
    c.setFont(bold, 30)
    c.drawCentredString(PAGE_W / 2, PAGE_H - 48 * mm, title)
    c.setFont(regular, 10)
    c.setFillGray(0.4)
    c.drawCentredString(PAGE_W / 2, PAGE_H - 55 * mm, subtitle)
    c.setFillGray(0)
    c.setLineWidth(0.6)
    c.line(left, PAGE_H - 60 * mm, right, PAGE_H - 60 * mm)
    y = PAGE_H - 74 * mm
    for label, value in zip(CERT_LABELS, values):
        c.setFont(regular, 11)
        c.setFillGray(0.4)
        c.drawString(left, y, label)
        c.setFillGray(0)
        c.setFont(bold if label in ("证明编号", "姓名") else regular,
                  _fit(value, regular, 13, right - left - 30 * mm))
        c.drawString(left + 30 * mm, y, value)
        y -= 11 * mm
    c.setFont(regular, 12)
    text = c.beginText(left, y - 4 * mm)
    line = ""
    for ch in body:  # wrap by width: Chinese has no spaces to break at
        if pdfmetrics.stringWidth(line + ch, regular, 12) > right - left:
            text.textLine(line)
            line = ""
        line += ch
    text.textLine(line)
    c.drawText(text)
    qr_y = 40 * mm
    draw_qr(c, t.url, left, qr_y, CERT_QR)
    c.setFont(regular, 10)
    c.setFillGray(0)
    c.drawString(left + CERT_QR + 6 * mm, qr_y + CERT_QR / 2 + 2 * mm, check)
    c.setFont(regular, 8)
    c.setFillGray(0.4)
    c.drawString(left + CERT_QR + 6 * mm, qr_y + CERT_QR / 2 - 5 * mm, CERT_NOTE)
    c.setFillGray(0)
    c.setFont(regular, 12)
    c.drawRightString(right, qr_y + CERT_QR + 22 * mm, t.community)
    c.drawRightString(right, qr_y + CERT_QR + 14 * mm, SEAL)
    c.showPage()
    c.save()
    return buf.getvalue()
