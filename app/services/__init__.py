"""Use cases that touch the database; views and CLI commands call these."""
