"""What each staff role is shown of the gate's records, decided in one place.

Health data is sensitive personal information under PIPL: a gate temperature, and a
reason that tells something about a person's health (a fever, home quarantine, a
reading the gate required, a health certificate shown instead of a pass). Only health
staff (and admins) see it, and the pages that show it to them write the health-view
log. The office and guards see a neutral "请联系社区" in a health reason's place and no
temperatures; guards also see masked names and cannot look a resident up by phone.

Every page, export and summary asks a ``Disclosure`` instead of checking roles itself,
so no template can show a guard what the scan log hides from them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

from .roles import Role, admits
from .verdict import REASONS

#: Reasons that say something about a person's health: health staff's alone.
HEALTH_REASONS = frozenset({"IN_QUARANTINE", "FEVER", "TEMPERATURE_REQUIRED",
                            "HEALTH_CERTIFICATE"})
#: What everyone else is shown in a health reason's place (a display code, never a verdict).
NEUTRAL_REASON = "CONTACT_OFFICE"
NEUTRAL_TEXT = ("请联系社区", "Please contact the community office")


def reason_texts(code: Optional[str]) -> tuple[str, str]:
    """(Chinese, English) for a reason code, the neutral one included."""
    if code == NEUTRAL_REASON:
        return NEUTRAL_TEXT
    return REASONS.get(code or "", (code or "", code or ""))


@dataclass(frozen=True)
class Disclosure:
    """What one reader may see: ``health`` (temperatures, health reasons), ``full_names``
    (else masked: 张*丰), ``phone_search`` (finding a resident by phone number)."""

    health: bool
    full_names: bool
    phone_search: bool

    def reason(self, code: Optional[str]) -> Optional[str]:
        """The reason code this reader is shown for ``code``."""
        if code in HEALTH_REASONS and not self.health:
            return NEUTRAL_REASON
        return code

    def hides(self, code: Optional[str]) -> bool:
        return self.reason(code) != code

    def reason_text(self, code: Optional[str], lang: str = "zh") -> str:
        zh, en = reason_texts(self.reason(code))
        return en if lang == "en" else zh

    def name(self, full: str, masked: str) -> str:
        return full if self.full_names else masked

    def temperature(self, value: Optional[float]) -> Optional[float]:
        return value if self.health else None

    def reasons(self, codes: Iterable[str]) -> list[str]:
        """Codes a reader may filter on: the hidden ones become one neutral choice."""
        shown = [self.reason(c) for c in codes]
        return [c for i, c in enumerate(shown) if c not in shown[:i]]

    def fold(self, counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        """Denial counts per reason as this reader is shown them (hidden ones added up),
        most frequent first."""
        total: Counter = Counter()
        for code, n in counts:
            total[self.reason(code)] += n
        return sorted(total.items(), key=lambda cn: (-cn[1], cn[0] or ""))


#: Health staff, admins and the operator's shell (CLI): everything.
FULL = Disclosure(health=True, full_names=True, phone_search=True)
OFFICE = Disclosure(health=False, full_names=True, phone_search=True)
#: Guards, and anyone whose role is unknown.
GUARD = Disclosure(health=False, full_names=False, phone_search=False)


def for_role(role: Optional[str]) -> Disclosure:
    """The ``Disclosure`` of a staff role; the narrowest for anything unknown."""
    if role and admits(role, Role.HEALTH):
        return FULL
    if role in (Role.OFFICE, Role.DISTRICT):  # the sub-district reads a community as its office
        return OFFICE
    return GUARD
