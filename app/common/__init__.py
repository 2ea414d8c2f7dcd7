"""What every part of the service shares and no one feature owns: the audit trail, rate limits,
the per-worker cache, and the base of every refusal a service gives (``ServiceError``)."""
