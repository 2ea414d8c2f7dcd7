"""Paper for the gate: the week's duty sheet and A4 notice posters (PDF).

Both embed a subset of Noto Sans CJK (``app.pdf.fonts``) so they print the same
on an office PC without Chinese fonts.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

from gatepass.duty import PATTERN_LABELS, week_days
from ..config import community_tz
from ..pdf.fonts import ASCII, register_fonts
from ..pdf.qr import QrFlowable

WEEKDAYS = "一二三四五六日"


def _fonts(texts: list[str]) -> tuple[str, str]:
    chars = "".join(sorted(set("".join(texts) + ASCII + WEEKDAYS + "周（）：·—")))
    regular, bold, _ = register_fonts(chars, chars)
    return regular, bold


def duty_sheet_pdf(community: str, monday: date, gates: list[dict]) -> bytes:
    """One landscape A4 page per gate: shifts down, Monday-Sunday across, names in cells.

    ``gates`` is ``app.duty.guards.week(monday)``."""
    tz = community_tz()
    days = week_days(monday)
    title = f"{community} 门岗值班表"
    period = f"{monday.isoformat()} — {days[-1].isoformat()}"
    texts = [title, period, "班次", "值班人员签到", "打印于", "排班方式", "未排班", "班组"]
    pages = []
    for g in gates:
        rows: dict[str, dict[date, list[str]]] = {}
        for day, shifts in g["days"].items():
            for s in shifts:
                names = [a.guard.name + ("（志愿者）" if a.guard.kind == "volunteer" else "")
                         for a in s.assignments]
                label = s.name + (f" {s.team}班" if s.team else "")
                rows.setdefault(s.name, {})[day] = ([f"{s.team}班"] if s.team else []) + names
                texts += names + [label]
        kind = g["pattern"].kind if g["pattern"] else None
        texts += [g["gate"].name, PATTERN_LABELS.get(kind, ("", ""))[0]]
        pages.append((g, kind, rows))
    regular, bold = _fonts(texts)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=18, leading=24)
    small = ParagraphStyle("small", fontName=regular, fontSize=9, leading=12, textColor=colors.grey)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=10, leading=13)
    head = ParagraphStyle("head", fontName=bold, fontSize=10, leading=13, alignment=1)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title, author=community)
    story = []
    printed = datetime.now(tz).strftime("%Y-%m-%d %H:%M")
    for i, (g, kind, rows) in enumerate(pages):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(escape(f"{title} · {g['gate'].name}"), h1))
        story.append(Paragraph(escape(f"{period} · 排班方式：{PATTERN_LABELS.get(kind, ('未排班', ''))[0]}"
                                      f" · 打印于 {printed}"), small))
        story.append(Spacer(1, 4 * mm))
        header = [Paragraph("班次", head)] + [
            Paragraph(escape(f"周{WEEKDAYS[d.weekday()]} {d.month}/{d.day}"), head) for d in days]
        data = [header]
        for name in sorted(rows):
            data.append([Paragraph(escape(name), cell)] + [
                Paragraph("<br/>".join(escape(n) for n in rows[name].get(d, [])) or "—", cell)
                for d in days])
        if len(data) == 1:
            data.append([Paragraph("未排班", cell)] + [""] * 7)
        first = 28 * mm
        width = (landscape(A4)[0] - 24 * mm - first) / 7
        table = Table(data, colWidths=[first] + [width] * 7, repeatRows=1)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8a96a3")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde5ee")),
            ("BACKGROUND", (0, 1), (0, -1), colors.HexColor("#f1f4f8")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ]))
        story.append(table)
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph("值班人员签到：______________________________", cell))
    if not pages:
        story.append(Paragraph(escape(title), h1))
        story.append(Paragraph("未排班", cell))
    doc.build(story)
    return buf.getvalue()


def poster_pdf(community: str, title: str, body: str, footer: str = "",
               qr_text: str | None = None, qr_caption: str = "") -> bytes:
    """An A4 poster: the community, a big title, the text, optionally a QR to scan."""
    regular, bold = _fonts([community, "公告", title, body, footer, qr_caption])
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=18 * mm, title=title, author=community)
    top = ParagraphStyle("top", fontName=regular, fontSize=14, leading=20, alignment=1,
                         textColor=colors.HexColor("#1f5fa8"))
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=34, leading=44, alignment=1, spaceAfter=8 * mm)
    text = ParagraphStyle("text", fontName=regular, fontSize=17, leading=28, spaceAfter=4 * mm,
                          firstLineIndent=34)
    foot = ParagraphStyle("foot", fontName=regular, fontSize=12, leading=18, alignment=2,
                          textColor=colors.HexColor("#444444"))
    cap = ParagraphStyle("cap", parent=top, fontSize=15, textColor=colors.black)
    story = [Paragraph(escape(f"{community} · 公告"), top), Spacer(1, 6 * mm),
             Paragraph(escape(title), h1)]
    for para in [p.strip() for p in (body or "").splitlines() if p.strip()]:
        story.append(Paragraph(escape(para), text))
    if qr_text:
        size = 70 * mm
        story += [Spacer(1, 6 * mm),
                  Table([[QrFlowable(qr_text, size)]], colWidths=[size], hAlign="CENTER"),
                  Paragraph(escape(qr_caption), cap)]
    if footer:
        story += [Spacer(1, 10 * mm), Paragraph(escape(footer), foot)]
    doc.build(story)
    return buf.getvalue()


def notice_period(starts_at, ends_at, tz) -> str:
    fmt = "%Y-%m-%d %H:%M"
    a = starts_at.astimezone(tz).strftime(fmt) if starts_at else ""
    b = ends_at.astimezone(tz).strftime(fmt) if ends_at else ""
    if a and b:
        return f"{a} 至 {b}"
    if b:
        return f"至 {b}"
    return f"{a} 起" if a else ""


