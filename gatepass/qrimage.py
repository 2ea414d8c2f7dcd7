"""Draw a token as a QR code: PNG for screens, SVG for pages, module matrix for print.

Error correction M and the standard 4-module quiet zone: the quiet zone is
what lets a webcam find the code on a busy phone screen.
"""
from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4


def make_qr(text: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=10)
    qr.add_data(text)
    qr.make(fit=True)
    return qr


def matrix(text: str) -> list[list[bool]]:
    """Modules without the quiet zone, True = dark."""
    qr = make_qr(text)
    return [row[QUIET_ZONE:-QUIET_ZONE] for row in qr.get_matrix()[QUIET_ZONE:-QUIET_ZONE]]


def png(text: str, box_size: int = 10) -> bytes:
    qr = make_qr(text)
    qr.box_size = box_size
    img = qr.make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def svg(text: str, size_css: str = "100%") -> str:
    """One <path> of unit squares: crisp at any size, small to send."""
    m = matrix(text)
    n = len(m) + 2 * QUIET_ZONE
    d = []
    for y, row in enumerate(m):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                d.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
            f'width="{size_css}" height="{size_css}" shape-rendering="crispEdges" '
            f'role="img" aria-label="QR"><rect width="{n}" height="{n}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(d)}"/></svg>')
