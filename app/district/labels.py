"""The columns of the sub-district's day, in both languages, and how the table sorts.

One list serves the page's table, its sort links and the CSV sent upward, so a column cannot
be named one way on screen and another in the report. Labels carry their English beside the
Chinese (like ``gatepass.labels``), so the CSV of an English reader is English too.
"""
from __future__ import annotations

from dataclasses import dataclass

from .rollup import CommunityDay


@dataclass(frozen=True)
class Column:
    key: str  # a CommunityDay attribute; also the ?sort= value
    zh: str
    en: str
    #: A higher value needs attention (the cell is marked when it is not zero).
    alarming: bool = False

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


COLUMNS = (
    Column("residents", "居民", "Residents"),
    Column("passes", "有效通行证", "Active passes"),
    Column("in_quarantine", "居家隔离", "In home quarantine"),
    Column("open_alerts", "待处理提醒", "Open alerts", alarming=True),
    Column("late_reports", "未按时报告", "Late reports", alarming=True),
    Column("registrations", "待审核登记", "Registrations waiting"),
    Column("scans", "今日通行", "Scans today"),
    Column("denials", "今日拒绝", "Denied today"),
    Column("fevers", "今日发热", "Fevers today", alarming=True),
    Column("gates_online", "门岗在线", "Gates online"),
    Column("gates_offline", "门岗离线", "Gates offline", alarming=True),
    Column("shifts_staffed", "当前在岗班次", "Shifts staffed now"),
    Column("shifts_unstaffed", "当前缺岗班次", "Shifts unstaffed now", alarming=True),
)
BY_KEY = {c.key: c for c in COLUMNS}
NAME = Column("name", "社区", "Community")
CODE = Column("code", "代码", "Code")
WORST = "worst"


#: Cells shown as "n / of" (gates online of all gates, shifts staffed of shifts running).
OF = {"gates_online": "gates", "shifts_staffed": "shifts"}


def cells(row: CommunityDay) -> list[tuple[str, int, int | None, bool]]:
    """A table row's cells, worked out here once: (column, value, "of" value or None,
    alarming). A template calling a macro per cell took longer than counting 200 communities."""
    return [(c.key, getattr(row, c.key), getattr(row, OF[c.key]) if c.key in OF else None,
             c.alarming and bool(getattr(row, c.key))) for c in COLUMNS]


def sort_rows(rows: list[CommunityDay], key: str, descending: bool) -> list[CommunityDay]:
    """Rows sorted by a column (ties by name, so the order is stable); ``worst`` (the
    default, and anything unknown) is ``CommunityDay.worst_key``, most urgent first."""
    if key in ("name", "code"):
        return sorted(rows, key=lambda r: getattr(r, key), reverse=descending)
    if key in BY_KEY:
        ordered = sorted(rows, key=lambda r: r.name)
        return sorted(ordered, key=lambda r: getattr(r, key), reverse=descending)
    return sorted(rows, key=CommunityDay.worst_key)


def parse_sort(key: str | None, direction: str | None) -> tuple[str, bool]:
    """``?sort=`` and ``?dir=`` as asked, or worst first; a figure sorts high to low unless
    asked otherwise, a name A to Z."""
    key = key if key in BY_KEY or key in ("name", "code") else WORST
    if direction in ("asc", "desc"):
        return key, direction == "desc"
    return key, key in BY_KEY

