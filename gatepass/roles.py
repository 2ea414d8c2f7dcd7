"""Staff roles: who may do what is decided by views naming the roles they admit."""
from __future__ import annotations

from .labels import Labelled


class Role(Labelled):
    ADMIN = "admin", "管理员", "Administrator"
    OFFICE = "office", "物业/居委会", "Office"
    HEALTH = "health", "防疫/卫生", "Health"
    GUARD = "guard", "门岗", "Gate guard"
    DISTRICT = "district", "街道", "Sub-district"


#: Everyone who reads the scan log and the list of who is outside.
READERS = (Role.OFFICE, Role.HEALTH, Role.GUARD)


def admits(role: str, *roles: str) -> bool:
    """Whether a user with ``role`` may do what ``roles`` may do: admin may do everything."""
    return role == Role.ADMIN or role in roles
