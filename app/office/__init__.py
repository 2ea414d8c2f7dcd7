"""Office pages: people, passes, scan log, who is outside, rules, devices."""
from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")

from . import views  # noqa: E402,F401
from ..health.views import office as health  # noqa: E402,F401
from . import roster, bulk  # noqa: E402,F401
from . import printing  # noqa: E402,F401
from . import devices, audit  # noqa: E402,F401
from ..duty.views import logbook, shifts as duty, gate, places, notices  # noqa: E402,F401
from ..health.views import alerts, registrations, access_log as health_audit  # noqa: E402,F401
from ..health import labels as health_labels
