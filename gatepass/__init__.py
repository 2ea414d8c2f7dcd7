"""The pass domain: tokens, verdicts and gate rules.

Nothing in this package imports Flask or the database, because the gate
scanner imports it too and must verify passes on a laptop with no service.
"""
