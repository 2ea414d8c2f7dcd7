"""How people spell a building: "3", "3号楼", "3栋" name one building; 2号楼 sorts before 10号楼.

One function for every place a building is typed (roster import, ``passes print --building``,
the office's print page), so an import and a print run never disagree about "3栋".
"""
from __future__ import annotations

import re

_BUILDING = re.compile(r"(\d+)(号楼|号|栋|幢|楼)?")


def building_name(raw: str, existing: set[str]) -> str:
    """3, 3号楼, 3栋 name the same building as ``existing`` (the database) spells it; a number
    no building matches becomes "3号楼", the usual spelling; anything else stays as typed."""
    raw = (raw or "").strip()
    m = _BUILDING.fullmatch(raw)
    if not m:
        return raw
    for suffix in ("号楼", "栋", "幢", "号", "楼", ""):
        if m.group(1) + suffix in existing:
            return m.group(1) + suffix
    return raw if m.group(2) else m.group(1) + "号楼"


def natural_key(text: str) -> tuple:
    """2号楼 before 10号楼."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text or ""))
