"""PostgreSQL row-level security on every community table: the floor under ``app.tenancy``.

Each table of a ``CommunityOwned`` model gets ``ENABLE`` and ``FORCE ROW LEVEL SECURITY``
(FORCE: the policy binds the tables' owner too, which the service connects as) and one
policy admitting the rows of the communities in the transaction's ``app.community_ids``.
Without that setting nothing is visible, so raw SQL, a forgotten filter or a psql session
of the service's role reads nothing. A superuser or a BYPASSRLS role skips every policy:
the service must connect as neither (``docs/deploy.md`` §9, ``scripts/ensure-postgres.sh``).

The migration that introduced communities writes the same statements (kept there as text,
as migrations must not change with the code); ``create_all`` gets them from here.
"""
from __future__ import annotations

from sqlalchemy import event

from .extensions import db
from .models.base import CommunityOwned

POLICY_NAME = "community_isolation"
#: The communities a transaction may see, as SQL: '1,5' -> {1,5}; unset -> NULL (no rows).
#: The array is an uncorrelated sub-select, so PostgreSQL computes it once per statement (an
#: InitPlan); written bare, it was re-parsed for every row whenever the plan filtered on
#: another index: 480 ms instead of 24 ms for 4,000 open alerts with 201 communities in scope.
IN_SCOPE = ("community_id = ANY ((SELECT string_to_array(current_setting('app.community_ids', "
            "true), ',')::bigint[])::bigint[])")


def policy_statements(table: str, optional: bool = False) -> list[str]:
    """The DDL that isolates ``table``; ``optional``: rows without a community (a
    sub-district action in the audit trail) stay readable and writable."""
    condition = f"community_id IS NULL OR {IN_SCOPE}" if optional else IN_SCOPE
    return [f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
            f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
            f'CREATE POLICY {POLICY_NAME} ON "{table}" USING ({condition}) WITH CHECK ({condition})']


def community_tables() -> dict[str, bool]:
    """{table name: whether community_id may be NULL} of every community-owned model."""
    return {mapper.local_table.name: mapper.class_.community_optional
            for mapper in db.Model.registry.mappers
            if issubclass(mapper.class_, CommunityOwned)}


@event.listens_for(db.metadata, "after_create")
def _isolate_created_tables(_metadata, connection, tables=(), **_kw) -> None:
    """``create_all`` on PostgreSQL (tests, a fresh database made without Alembic)."""
    if connection.dialect.name != "postgresql":
        return
    owned = community_tables()
    for table in tables:
        if table.name in owned:
            for statement in policy_statements(table.name, owned[table.name]):
                connection.exec_driver_sql(statement)
