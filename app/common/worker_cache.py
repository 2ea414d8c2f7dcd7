"""What nearly every request needs and rarely changes, kept per worker for a few seconds.

Category rules and gate devices are read on every scan and change a few times a week.
A ``WorkerCache`` keeps them in the app (one copy per gunicorn worker) for ``seconds``;
a flush that writes a watched row in this process clears it at once, other workers
see the change when their copy ages out.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session


class WorkerCache:
    def __init__(self, name: str, watch: type, seconds: Callable[[], float],
                 changed: Callable[[Session, Any], bool] = lambda _session, _row: True):
        self.name, self.seconds, self.watch, self.changed = name, seconds, watch, changed
        event.listen(Session, "after_flush", self._after_flush)

    def _entries(self) -> dict:
        return current_app.extensions.setdefault(self.name, {})

    def get(self, key: Any) -> Any | None:
        """The value stored under ``key`` if it is younger than ``seconds``, else None."""
        hit = self._entries().get(key)
        if hit is not None and time.monotonic() - hit[0] < self.seconds():
            return hit[1]
        return None

    def put(self, key: Any, value: Any) -> Any:
        self._entries()[key] = (time.monotonic(), value)
        return value

    def values(self) -> list:
        return [value for _at, value in self._entries().values()]

    def clear(self) -> None:
        self._entries().clear()

    def _after_flush(self, session: Session, _context) -> None:
        """Any write of a watched row (a service, another module, a test) clears the cache."""
        if has_app_context() and any(isinstance(o, self.watch) and self.changed(session, o)
                                     for o in (*session.new, *session.dirty, *session.deleted)):
            self.clear()
