"""Typed SQLAlchemy models, grouped by domain."""
from .people import Building, Household, Person, Vehicle  # noqa: F401
from .passes import Pass, CategoryRuleRow  # noqa: F401
from .gates import EnrolmentCode, Gate, GateDevice, Scan  # noqa: F401
from .users import User  # noqa: F401
from ..health.readings import HealthAlert, TemperatureReport  # noqa: F401
from .audit import AuditEntry  # noqa: F401
from ..duty.models import (DutySession, GateEvent, Guard, Handover, Notice, Place, RateHit, Shift,
                           ShiftAssignment, ShiftPattern, SpotCheck)  # noqa: F401
from ..health.models import (Errand, HealthCertificate, HomeCheck, QuarantineEpisode, Registration)  # noqa: F401
