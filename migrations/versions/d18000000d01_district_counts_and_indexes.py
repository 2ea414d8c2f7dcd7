"""district: the sub-district's day: kept counts (district_counts) and composite indexes

Revision ID: d18000000d01
Revises: d18000000001
Create Date: 2026-12-02 13:30:00

One grouped query per figure over all communities (app/district/rollup.py) reads these
indexes; the three big counts are kept per community and day (app/district/counted.py).
On PostgreSQL district_counts is isolated like every community table (app/rls.py; the
statements written out, as a migration must not change with the code).
"""
from alembic import op
import sqlalchemy as sa
from app.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'd18000000d01'
down_revision = 'd18000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'district_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('residents', sa.Integer(), nullable=False),
        sa.Column('passes', sa.Integer(), nullable=False),
        sa.Column('scans', sa.Integer(), nullable=False),
        sa.Column('denials', sa.Integer(), nullable=False),
        sa.Column('last_scan_id', sa.Integer(), nullable=False),
        sa.Column('counted_at', UTCDateTime(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('community_id', 'day', name='uq_district_counts_day'))
    op.create_index('ix_district_counts_community_id', 'district_counts', ['community_id'])
    if op.get_bind().dialect.name == 'postgresql':
        in_scope = ("community_id = ANY ((SELECT string_to_array(current_setting("
                    "'app.community_ids', true), ',')::bigint[])::bigint[])")
        op.execute('ALTER TABLE "district_counts" ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE "district_counts" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY community_isolation ON "district_counts" USING ({in_scope}) '
                   f'WITH CHECK ({in_scope})')
    op.create_index('ix_scans_community_scanned_at', 'scans', ['community_id', 'scanned_at'],
                    postgresql_include=['allowed'])
    op.create_index('ix_people_community_category', 'people', ['community_id', 'category'])
    op.create_index('ix_passes_community_status', 'passes', ['community_id', 'status'])


def downgrade():
    op.drop_index('ix_district_counts_community_id', table_name='district_counts')
    op.drop_table('district_counts')
    op.drop_index('ix_passes_community_status', table_name='passes')
    op.drop_index('ix_people_community_category', table_name='people')
    op.drop_index('ix_scans_community_scanned_at', table_name='scans')
