"""A pass's status and what the office may do to it, as enums the templates read too."""
from __future__ import annotations

from enum import StrEnum


class PassStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _STATUS_LABELS[self][1]


_STATUS_LABELS = {
    PassStatus.ACTIVE: ("有效", "Active"),
    PassStatus.SUSPENDED: ("已暂停", "Suspended"),
    PassStatus.REVOKED: ("已作废", "Revoked"),
}


class PassAction(StrEnum):
    """What the office does to a pass, one by one or in bulk."""

    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    REISSUE = "reissue"
    REPRINT = "reprint"
