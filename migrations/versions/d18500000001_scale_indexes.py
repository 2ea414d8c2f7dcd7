"""scale: scans by community and time; trigram indexes for the office's name/phone/plate search

A community's scan log, dashboard and export read its scans newest first or by day:
``(community_id, scanned_at)`` answers both without walking other communities' scans.
On PostgreSQL the search boxes (``LIKE '%…%'`` on people's names and phones, vehicles'
plates) get pg_trgm GIN indexes, when the extension can be created: it is a trusted
extension (PostgreSQL 13+), so the database's owner may create it without a superuser;
where it cannot be created the indexes are left out and the search still works, slower.

Revision ID: d18500000001
Revises: d18000000001
Create Date: 2026-12-02 14:30:00

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd18500000001'
down_revision = 'd18000000001'
branch_labels = None
depends_on = None

TRIGRAM = (('people', 'name'), ('people', 'phone'), ('vehicles', 'plate'))
log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    op.create_index('ix_scans_community_scanned_at', 'scans', ['community_id', 'scanned_at'])
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError as e:
        log.warning("pg_trgm not available (%s): search boxes work without trigram indexes",
                    e.orig)
        return
    for table, column in TRIGRAM:
        op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_{column}_trgm ON {table} '
                   f'USING gin ({column} gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in TRIGRAM:
            op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
    op.drop_index('ix_scans_community_scanned_at', table_name='scans')
