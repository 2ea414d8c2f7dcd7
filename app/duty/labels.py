"""Gate duty's words in templates: logbook event kinds and details, shift patterns, handover
summaries, in the reader's language. Registered as template globals by ``app.templating``."""
from __future__ import annotations

from gatepass import duty as rules
from gatepass import logbook as book
from ..i18n import lang


def event_kind_label(kind: str) -> str:
    return book.kind_label(kind, lang())


def event_details(kind: str, fields: dict) -> str:
    return book.describe(kind, fields or {}, lang())


def choice_label(value: str) -> str:
    return book.choice_label(value, lang())


def summary_label(key: str) -> str:
    zh, en = rules.SUMMARY_LABELS.get(key, (key, key))
    return en if lang() == "en" else zh


def pattern_label(kind: str | None) -> str:
    zh, en = rules.PATTERN_LABELS.get(kind or "", ("未设置", "not set"))
    return en if lang() == "en" else zh


TEMPLATE_GLOBALS = {f.__name__: f for f in (event_kind_label, event_details, choice_label,
                                             summary_label, pattern_label)}
