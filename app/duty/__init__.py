"""Gate duty: guards and shifts, the logbook, handovers, places and spot checks, notices.

One feature in one folder; its routes join the existing office and api blueprints, so URLs and
endpoint names stay as they were. See docs/gate-duty.md.
"""
from . import models  # noqa: E402,F401  (its tables join db.metadata with the app)
