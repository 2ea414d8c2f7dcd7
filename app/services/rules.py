"""The office's category rules as the domain's CategoryRule objects."""
from __future__ import annotations

from ..extensions import db
from ..models import CategoryRuleRow
from gatepass.categories import CATEGORIES
from gatepass.rules import CategoryRule
from .errors import ServiceError


class RuleError(ServiceError):
    """A rule the office typed that cannot be read."""


def category_rules() -> dict[str, CategoryRule]:
    rows = db.session.scalars(db.select(CategoryRuleRow)).all()
    found = {r.category: r.to_rule() for r in rows}
    return {c: found.get(c, CategoryRule(c)) for c in CATEGORIES} | found


def set_rule(category: str, hours: str = "", gates: str = "", anti_passback: bool = True,
             temperature_required: bool = False) -> CategoryRuleRow:
    try:
        CategoryRule.from_strings(category, hours, gates, anti_passback, temperature_required)
    except ValueError as err:
        raise RuleError("BAD_HOURS", f"时段格式不正确：{err}（应为 HH:MM-HH:MM）", str(err)) from None
    row = db.session.get(CategoryRuleRow, category) or CategoryRuleRow(category=category)
    row.hours, row.gates, row.anti_passback = hours.strip(), gates.strip(), anti_passback
    row.temperature_required = bool(temperature_required)
    db.session.add(row)
    return row
