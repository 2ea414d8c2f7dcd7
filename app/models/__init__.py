"""The core's typed SQLAlchemy models: communities, people, passes, gates, users, audit, rate hits.

A feature with its own folder keeps its models there (``app.health.models``,
``app.duty.models``); they join ``db.metadata`` when ``create_app`` imports the feature.
"""
from .communities import Community, CommunityKind, user_communities  # noqa: F401
from .people import Building, Household, Person, Vehicle  # noqa: F401
from .passes import Pass, CategoryRuleRow  # noqa: F401
from .gates import EnrolmentCode, Gate, GateDevice, Scan  # noqa: F401
from .users import User  # noqa: F401
from .audit import AuditEntry  # noqa: F401
from .ratehits import RateHit  # noqa: F401
