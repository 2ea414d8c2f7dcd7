"""A streamed response (a CSV of the whole scan log) that reads in the request's scope.

Flask tears the request down when the view returns, before the body of a
``stream_with_context`` response is produced: ``app.tenancy``'s teardown has by then
reset the scope, and a generator that queries while streaming would read with no scope at
all, which means every community (and, on PostgreSQL, ``app.community_ids`` set to all of
them). ``stream_in_scope`` takes the scope when the view calls it and re-enters it around
every row the generator makes.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from flask import stream_with_context

from ..tenancy import current_scope, system_scope, use_scope


def stream_in_scope(rows: Iterable) -> Iterator:
    """``stream_with_context(rows)``, run inside the scope in force now."""
    scope = current_scope()

    def scoped() -> Iterator:
        with (system_scope(scope.write_id) if scope.everything
              else use_scope(scope.community_ids, scope.write_id)):
            yield from rows
    return stream_with_context(scoped())
