"""Operator command groups, one module each, registered in ``app.cli.init_app``."""
