"""Home quarantine (health staff): records, use cases, pages per audience, CLI, PDF, demo data.

One feature in one folder; its routes join the existing audience blueprints (office, resident,
public), so URLs and endpoint names stay as they were. See docs/health.md.
"""
from . import models, readings  # noqa: E402,F401  (their tables join db.metadata with the app)
