"""One base for every refusal a service gives: a stable code and a message in both languages.

Services raise these; they never build responses. ``app.errors`` is the one
place that turns them into JSON (gate API) or a flashed message (pages), in
the reader's language.
"""
from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be done, said so the person can fix it."""

    #: HTTP status when this reaches a response unhandled.
    status = 400

    def __init__(self, code: str, message: str, message_en: str | None = None):
        super().__init__(message)
        self.code, self.message, self.message_en = code, message, message_en or message

    def __str__(self) -> str:  # the CLI prints both: operators read Chinese, logs are grepped in English
        return self.message if self.message == self.message_en else f"{self.message} / {self.message_en}"

    def text(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


def must_exist(row, code: str, message: str, message_en: str):
    """``row`` as it is, or NotFound (404) when the lookup (``db.session.get``) found nothing."""
    if row is None:
        raise NotFound(code, message, message_en)
    return row
