"""scale: trigram indexes for the office's name/phone/plate search

On PostgreSQL the search boxes (``LIKE '%…%'`` on people's names and phones, vehicles'
plates) get pg_trgm GIN indexes, when the extension can be created: it is a trusted
extension (PostgreSQL 13+), so the database's owner may create it without a superuser;
where it cannot be created the indexes are left out and the search still works, slower.
(A community's scans by time, ``(community_id, scanned_at)``, which the scan log, the
dashboard and the export read, is ``ix_scans_community_scanned_at`` of the district's
migration d18000000d01.)

Revision ID: d18500000001
Revises: d18000000d01
Create Date: 2026-12-02 14:30:00

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd18500000001'
down_revision = 'd18000000d01'
branch_labels = None
depends_on = None

TRIGRAM = (('people', 'name'), ('people', 'phone'), ('vehicles', 'plate'))
log = logging.getLogger("alembic.runtime.migration")


def upgrade():
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
