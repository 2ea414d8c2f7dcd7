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
