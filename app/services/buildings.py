"""Buildings as the office's filters offer them: a list to pick from while a community has
a few hundred, a name to type when it has more.

A district-sized database once rendered a 12,000-option ``<select>`` on every people
and scan-log page (issue 18); past ``SELECT_MAX`` the page shows a text box instead and
the typed name ("3", "3号楼", "3栋") is resolved here as the roster resolves it.
"""
from __future__ import annotations

import re

from gatepass.addresses import building_name

from ..extensions import db
from ..models import Building

SELECT_MAX = 300


def building_choices() -> list[Building] | None:
    """Every building for a ``<select>``, or None when there are too many to list."""
    rows = db.session.scalars(db.select(Building).order_by(Building.id).limit(SELECT_MAX + 1)).all()
    return rows if len(rows) <= SELECT_MAX else None


def building_by_name(raw: str) -> int | None:
    """The id of the building typed as ``raw``; None when nothing was typed, 0 when no
    building has that name (no row has id 0: the filter then matches nothing)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    # The spellings building_name() may pick, looked up as candidates, not the whole table.
    number = re.match(r"\d*", raw).group()
    candidates = {raw, *(number + s for s in ("号楼", "栋", "幢", "号", "楼", ""))}
    existing = set(db.session.scalars(db.select(Building.name).where(Building.name.in_(candidates))))
    return db.session.scalar(db.select(Building.id).where(
        Building.name == building_name(raw, existing)).limit(1)) or 0
