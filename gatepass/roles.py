"""Staff roles: who may do what is decided by views naming the roles they admit."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OFFICE = "office"
    HEALTH = "health"
    GUARD = "guard"

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS = {
    Role.ADMIN: ("管理员", "Administrator"),
    Role.OFFICE: ("物业/居委会", "Office"),
    Role.HEALTH: ("防疫/卫生", "Health"),
    Role.GUARD: ("门岗", "Gate guard"),
}

#: Everyone who reads the scan log and the list of who is outside.
READERS = (Role.OFFICE, Role.HEALTH, Role.GUARD)


def admits(role: str, *roles: str) -> bool:
    """Whether a user with ``role`` may do what ``roles`` may do: admin may do everything."""
    return role == Role.ADMIN or role in roles
