"""Office pages: people, passes, scan log, who is outside, rules, devices."""
from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")

from . import views  # noqa: E402,F401
from . import health  # noqa: E402,F401
from . import roster, bulk  # noqa: E402,F401
from . import printing  # noqa: E402,F401
from . import devices, audit  # noqa: E402,F401
from . import logbook, duty, gate, places, notices  # noqa: E402,F401
from . import alerts, registrations, health_audit, health_labels  # noqa: E402,F401
from . import family  # noqa: E402,F401
