"""The office's category rules as the domain's CategoryRule objects.

Every scan needs them and they change a few times a week, so they are cached per
process for ``CACHE_SECONDS``; a change made here clears this process's cache at once,
other workers see it within those seconds. (A rule row written through the ORM
anywhere in this process clears it too.)
"""
from __future__ import annotations

import time

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import CategoryRuleRow
from gatepass.categories import CATEGORIES
from gatepass.rules import CategoryRule, WindowError
from .audit import record_action
from .errors import ServiceError


class RuleError(ServiceError):
    """A rule the office typed that cannot be read."""


CACHE_SECONDS = 3.0


def _load_rules() -> dict[str, CategoryRule]:
    rows = db.session.scalars(db.select(CategoryRuleRow)).all()
    found = {r.category: r.to_rule() for r in rows}
    return {c: found.get(c, CategoryRule(c)) for c in CATEGORIES} | found


def category_rules() -> dict[str, CategoryRule]:
    """The rules by category (a copy of the mapping: callers may not change the cache)."""
    cache = current_app.extensions.setdefault("gatepass.rules", {})
    hit = cache.get("rules")
    now = time.monotonic()
    if hit is None or now - hit[0] > current_app.config.get("RULES_CACHE_SECONDS", CACHE_SECONDS):
        hit = cache["rules"] = (now, _load_rules())
    return dict(hit[1])


def forget_rules() -> None:
    """Drop this process's cached rules (after a change)."""
    current_app.extensions.setdefault("gatepass.rules", {}).pop("rules", None)


@event.listens_for(Session, "after_flush")
def _rules_changed(session, _context) -> None:
    """Any write of a rule row (this module, another service, a test) clears the cache."""
    if any(isinstance(o, CategoryRuleRow) for o in (*session.new, *session.dirty, *session.deleted)):
        if has_app_context():
            forget_rules()


def set_rule(category: str, hours: str = "", gates: str = "", anti_passback: bool = True,
             temperature_required: bool = False) -> CategoryRuleRow:
    try:
        CategoryRule.from_strings(category, hours, gates, anti_passback, temperature_required)
    except WindowError as err:
        raise RuleError("BAD_HOURS", f"时段“{err.part}”格式不正确（应为 HH:MM-HH:MM）",
                        str(err)) from None
    row = db.session.get(CategoryRuleRow, category) or CategoryRuleRow(category=category)
    row.hours, row.gates, row.anti_passback = hours.strip(), gates.strip(), anti_passback
    row.temperature_required = bool(temperature_required)
    db.session.add(row)
    forget_rules()
    record_action("rules.set", f"category:{category}",
                  detail=f"hours={row.hours} gates={row.gates} anti_passback={anti_passback}")
    return row
