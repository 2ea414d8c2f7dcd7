"""The office's category rules as the domain's CategoryRule objects."""
from __future__ import annotations

from ..extensions import db
from ..models import CategoryRuleRow
from ..passes.categories import CATEGORIES
from ..passes.rules import CategoryRule


def category_rules() -> dict[str, CategoryRule]:
    rows = db.session.scalars(db.select(CategoryRuleRow)).all()
    found = {r.category: r.to_rule() for r in rows}
    return {c: found.get(c, CategoryRule(c)) for c in CATEGORIES} | found


def set_rule(category: str, hours: str = "", gates: str = "", anti_passback: bool = True) -> CategoryRuleRow:
    CategoryRule.from_strings(category, hours, gates, anti_passback)  # validates, raises ValueError
    row = db.session.get(CategoryRuleRow, category) or CategoryRuleRow(category=category)
    row.hours, row.gates, row.anti_passback = hours.strip(), gates.strip(), anti_passback
    db.session.add(row)
    return row
