"""Pages of a long list whose total is counted only up to a cap.

``db.paginate`` counts every matching row before showing fifty: over a scan log of
10 million rows that count was most of a two-second page (issue 18). A person paging
through a log reads the first pages; "10,000+" tells them to narrow the filter, and
the count stops at the cap however long the log grows.
"""
from __future__ import annotations

from math import ceil

from sqlalchemy import Select, func, literal

from ..extensions import db

COUNT_CAP = 10_000


class CappedPage:
    """The attributes the pager macro reads (``templates/_macros.html``), as
    flask-sqlalchemy's Pagination has them, plus ``capped``: the total is at least
    ``total`` (shown as "10000+")."""

    def __init__(self, stmt: Select, page: int, per_page: int, cap: int | None = None):
        cap = COUNT_CAP if cap is None else cap
        self.page, self.per_page = max(1, page), per_page
        self.items = db.session.scalars(
            stmt.limit(per_page).offset((self.page - 1) * per_page)).all()
        # Count matching rows, at most cap + 1, selecting no columns: the index answers.
        bare = stmt.order_by(None).with_only_columns(literal(1), maintain_column_froms=True)
        counted = db.session.scalar(db.select(func.count()).select_from(
            bare.limit(cap + 1).subquery()))
        self.capped = counted > cap
        self.total = min(counted, cap)
        self.pages = max(1, ceil(self.total / per_page))
        if self.capped and len(self.items) == per_page:
            self.pages = max(self.pages, self.page + 1)  # there is always one more page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None
