"""Office pages: people, passes, scan log, who is outside, rules, devices.

Features in their own folders add their office pages to this blueprint: ``app.health.views``
(quarantine, alerts, registrations, the health access log) and ``app.duty.views`` (shifts,
logbook, the gate page, places, notices).
"""
from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")

from . import views  # noqa: E402,F401
from . import roster, bulk  # noqa: E402,F401
from . import printing  # noqa: E402,F401
from . import devices, audit  # noqa: E402,F401
from ..health.views import office, alerts, registrations, access_log  # noqa: E402,F401
from ..duty.views import logbook, shifts, gate, places, notices  # noqa: E402,F401
from . import family  # noqa: E402,F401
from . import subdistrict  # noqa: E402,F401
