"""Holder categories: the split the office used for its paper passes."""
from .labels import Labelled

# code -> (Chinese label, English label, card colour)
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "resident": ("居民", "Resident", "#1f7a3a"),
    "tenant": ("租户", "Tenant", "#1f5fa8"),
    "sanitation": ("环卫", "Sanitation", "#d9822b"),
    "staff": ("工作人员", "Staff", "#6b3fa0"),
    "courier": ("快递外卖", "Courier", "#b8860b"),
    "other": ("其他", "Other", "#5f6b7a"),
    "vehicle": ("车辆", "Vehicle", "#0e7c86"),
}
PERSON_CATEGORIES = [c for c in CATEGORIES if c != "vehicle"]
#: Categories that live here: they need a household (building and room).
HOUSEHOLD_CATEGORIES = ("resident", "tenant")


class VehicleKind(Labelled):
    """A resident's own car, or one from outside (a visitor's, a supplier's)."""

    OWN = "own", "本小区", "Resident's"
    OUTSIDE = "outside", "外来", "From outside"


def label(category: str, lang: str = "zh") -> str:
    zh, en, _ = CATEGORIES.get(category, (category, category, "#5f6b7a"))
    return en if lang == "en" else zh


def colour(category: str) -> str:
    return CATEGORIES.get(category, ("", "", "#5f6b7a"))[2]


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ink(category: str) -> str:
    """The text colour on a category's colour, white or near-black, whichever contrasts more:
    white on the orange and gold ones is under 4.5:1 (unreadable for many elderly eyes)."""
    bg = _luminance(colour(category))
    on_white = 1.05 / (bg + 0.05)
    on_dark = (bg + 0.05) / (_luminance("#1c2430") + 0.05)
    return "#fff" if on_white >= on_dark else "#1c2430"


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 李四 -> 李*, Smith -> S****: enough for a guard to greet."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    if name.isascii():
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_card(number: str) -> str:
    """Keep only what the office needs to tell two people apart: 1101********1234."""
    n = (number or "").strip().upper()
    if not n:
        return ""
    if "*" in n:
        return n
    if len(n) <= 8:
        return n[:1] + "*" * (len(n) - 1)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def mask_phone(phone: str) -> str:
    p = (phone or "").strip()
    return p[:3] + "****" + p[-4:] if len(p) >= 11 else p
