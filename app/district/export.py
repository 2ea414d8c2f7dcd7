"""The daily report a sub-district sends upward: the day's table as a CSV Excel opens.

UTF-8 with a BOM (Excel reads Chinese right only then; ``app.services.exports.iter_csv``),
one row per community in the page's order (worst first), the day in its own column so sheets
of several days can be pasted together, and a file name stamped in local time.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from ..services.exports import export_name, iter_csv
from .labels import CODE, COLUMNS, NAME
from .rollup import CommunityDay, Rollup

EXTRA = {"zh": ["门岗总数", "当前班次"], "en": ["Gates", "Shifts now"]}


def headers(lang: str) -> list[str]:
    lang = "en" if lang == "en" else "zh"
    return (["日期" if lang == "zh" else "Date", CODE.label(lang), NAME.label(lang)]
            + [c.label(lang) for c in COLUMNS] + EXTRA[lang])


def row(day: str, r: CommunityDay) -> list:
    return [day, r.code, r.name] + [getattr(r, c.key) for c in COLUMNS] + [r.gates, r.shifts]


def rollup_csv(rollup: Rollup, lang: str = "zh") -> Iterator[str]:
    day = rollup.day.isoformat()
    return iter_csv(headers(lang), (row(day, r) for r in rollup.rows))


def file_name(now: datetime | None = None) -> str:
    """``district-20261202-0734.csv``, in the community's local time."""
    return export_name("district", "csv", now)
