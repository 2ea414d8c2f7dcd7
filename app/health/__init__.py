"""Home quarantine (health staff): its records, use cases, pages for each audience, CLI, PDF, demo data.

One feature in one folder; its routes join the existing audience blueprints (office, resident,
public), so URLs and endpoint names stay as they were. See docs/health.md.
"""
