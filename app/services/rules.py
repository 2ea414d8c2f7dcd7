"""The office's category rules as the domain's CategoryRule objects.

Every scan needs them and they change a few times a week, so they are cached per
process and community for ``CACHE_SECONDS``; a change made here clears this process's cache at once,
other workers see it within those seconds. (A rule row written through the ORM
anywhere in this process clears it too.)
"""
from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..models import CategoryRuleRow
from gatepass.categories import CATEGORIES
from gatepass.rules import CategoryRule, WindowError
from ..common.audit import record_action
from ..common.errors import ServiceError
from ..common.worker_cache import WorkerCache
from ..tenancy import current_scope


class RuleError(ServiceError):
    """A rule the office typed that cannot be read."""


CACHE_SECONDS = 3.0


def _load_rules(community_id: int | None) -> dict[str, CategoryRule]:
    """The rules of the community being written into (a gate's own, not the sub-district's)."""
    stmt = db.select(CategoryRuleRow)
    if community_id is not None:
        stmt = stmt.where(CategoryRuleRow.community_id == community_id)
    rows = db.session.scalars(stmt).all()
    found = {r.category: r.to_rule() for r in rows}
    return {c: found.get(c, CategoryRule(c)) for c in CATEGORIES} | found


#: Every scan needs the rules; any write of a rule row in this worker clears them.
_cache = WorkerCache("gatepass.rules", CategoryRuleRow,
                     seconds=lambda: current_app.config.get("RULES_CACHE_SECONDS", CACHE_SECONDS))


def category_rules() -> dict[str, CategoryRule]:
    """The rules by category (a copy of the mapping: callers may not change the cache)."""
    community_id = current_scope().write_id
    rules = _cache.get(community_id)
    if rules is None:
        rules = _cache.put(community_id, _load_rules(community_id))
    return dict(rules)


def forget_rules() -> None:
    """Drop this process's cached rules (after a change)."""
    _cache.clear()


def set_rule(category: str, hours: str = "", gates: str = "", anti_passback: bool = True,
             temperature_required: bool = False) -> CategoryRuleRow:
    try:
        CategoryRule.from_strings(category, hours, gates, anti_passback, temperature_required)
    except WindowError as err:
        raise RuleError("BAD_HOURS", f"时段“{err.part}”格式不正确（应为 HH:MM-HH:MM）",
                        str(err)) from None
    row = db.session.scalar(db.select(CategoryRuleRow).where(
        CategoryRuleRow.category == category,
        CategoryRuleRow.community_id == current_scope().write_id)) \
        or CategoryRuleRow(category=category)
    row.hours, row.gates, row.anti_passback = hours.strip(), gates.strip(), anti_passback
    row.temperature_required = bool(temperature_required)
    db.session.add(row)
    forget_rules()
    record_action("rules.set", f"category:{category}",
                  detail=f"hours={row.hours} gates={row.gates} anti_passback={anti_passback}")
    return row
