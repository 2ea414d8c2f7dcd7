"""Chinese fonts for printed cards: a subset of Noto Sans CJK, embedded.

The PDF must print the same on an office PC with no Chinese font, so the
glyphs a job needs are cut out of Noto Sans CJK and embedded; reportlab's
built-in STSong-Light (not embedded) is the fallback when Noto is missing.
"""
from __future__ import annotations

import io
import os
import threading
from functools import lru_cache
from hashlib import sha1
from pathlib import Path

from reportlab.pdfbase import pdfmetrics

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))
CJK_FAMILY = "Noto Sans CJK SC"
FALLBACK_FONT = "STSong-Light"  # reportlab's built-in CID font: not embedded
_font_lock = threading.Lock()
#: Printable ASCII: always in a subset, so digits, URLs and English words never lose a glyph.
ASCII = "".join(chr(c) for c in range(32, 127))


@lru_cache(maxsize=4)
def _find_font(weight: str) -> Path | None:
    for d in FONT_DIRS:
        for pattern in (f"NotoSansCJK-{weight}.ttc", f"NotoSansCJKsc-{weight}.otf",
                        f"NotoSansSC-{weight}.otf"):
            hits = sorted(Path(d).rglob(pattern)) if Path(d).is_dir() else []
            if hits:
                return hits[0]
    return None


@lru_cache(maxsize=4)
def _source(path: Path):
    """The parsed source font, kept: parsing its 65,000-glyph cmap and CFF costs ~0.6 s."""
    from fontTools.ttLib import TTCollection, TTFont
    index = 0
    if path.suffix.lower() == ".ttc":
        names = [f["name"].getDebugName(1) for f in TTCollection(str(path), lazy=True).fonts]
        index = names.index(CJK_FAMILY) if CJK_FAMILY in names else 0
    src = TTFont(str(path), fontNumber=index, lazy=True)
    return src, src.getBestCmap(), src.getGlyphSet(), src["hmtx"]


def font_subset(weight: str, chars: str) -> bytes:
    """An embeddable TrueType font with just ``chars``, cut from Noto's CFF.

    reportlab embeds only TrueType outlines and Noto CJK ships PostScript
    (CFF) ones, so the few hundred glyphs a job needs are converted to
    quadratic outlines rather than the whole font. Runs in a worker process
    for big batches. The font is named after its content: reportlab keys
    embedded fonts by name, and two subsets called alike would be mixed up.
    """
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    path = _find_font(weight)
    if path is None:
        raise LookupError(f"no Noto Sans CJK {weight} font under {', '.join(FONT_DIRS)}")
    with _font_lock:
        src, cmap, glyph_set, hmtx = _source(path)
        wanted = {ord(c): cmap[ord(c)] for c in chars if ord(c) in cmap}
        order = [".notdef"] + sorted(set(wanted.values()) - {".notdef"})
        glyphs = {}
        for name in order:
            pen = TTGlyphPen(None)
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyphs[name] = pen.glyph()
        fb = FontBuilder(src["head"].unitsPerEm, isTTF=True)
        fb.setupGlyphOrder(order)
        fb.setupCharacterMap(wanted)
        fb.setupGlyf(glyphs)
        fb.setupHorizontalMetrics({n: hmtx[n] for n in order})
        fb.setupHorizontalHeader(ascent=src["hhea"].ascent, descent=src["hhea"].descent)
        name = font_name(weight, chars)
        fb.setupNameTable({"familyName": name, "styleName": "Regular", "psName": name})
        os2 = src["OS/2"]
        fb.setupOS2(sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
                    usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
                    sCapHeight=getattr(os2, "sCapHeight", 0))
    fb.setupPost()
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


def font_name(weight: str, chars: str) -> str:
    return f"GatepassCJK-{weight}-{sha1(chars.encode()).hexdigest()[:10]}"


def is_registered(name: str) -> bool:
    return name in pdfmetrics.getRegisteredFontNames()


def register_fonts(regular_chars: str, bold_chars: str, bold_job=None) -> tuple[str, str, str]:
    """(regular, bold, description): embedded Noto subsets, else STSong-Light.

    ``bold_job``: a future of ``font_subset("Bold", bold_chars)`` started in
    a worker while this process builds the regular one.
    """
    from reportlab.pdfbase.ttfonts import TTFont
    try:
        names = []
        for weight, chars, job in (("Regular", regular_chars, None), ("Bold", bold_chars, bold_job)):
            name = font_name(weight, chars)
            if not is_registered(name):
                data = job.result() if job else font_subset(weight, chars)
                pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
            names.append(name)
        return names[0], names[1], f"{CJK_FAMILY} (embedded subset)"
    except (ImportError, LookupError, OSError) as err:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        if not is_registered(FALLBACK_FONT):
            pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
        return FALLBACK_FONT, FALLBACK_FONT, f"{FALLBACK_FONT} (not embedded: {err})"
