"""Enums whose members carry their own labels: ``ACTIVE = "active", "有效", "Active"``.

The code, the Chinese label and the English one stand on one line, so a new
member cannot be added without its labels, and templates show any of them in
the reader's language with ``label(member)`` (``app.templating``).
"""
from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A ``StrEnum`` member is its code (compares equal to the stored string) and has
    ``label`` (Chinese) and ``label_en``."""

    label: str
    label_en: str

    def __new__(cls, value: str, label: str = "", label_en: str = ""):
        return labelled_member(cls, value, label, label_en)


def labelled_member(cls, value: str, label: str, label_en: str):
    """A new member of ``cls``: for a subclass whose ``__new__`` takes more (enum replaces
    ``__new__`` on the class it builds, so a subclass cannot call ``super().__new__``)."""
    member = str.__new__(cls, value)
    member._value_ = value
    member.label = label or value
    member.label_en = label_en or member.label
    return member
