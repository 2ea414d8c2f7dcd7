"""district: composite indexes for the sub-district's day (scans today, residents, active passes)

Revision ID: d18000000001
Revises: TENANCY_HEAD
Create Date: 2026-12-02 13:30:00

One grouped query per figure over all communities (app/district/rollup.py) reads these
indexes only; see app/district/indexes.py.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd18000000001'
down_revision = 'TENANCY_HEAD'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_scans_community_scanned_at', 'scans', ['community_id', 'scanned_at'],
                    postgresql_include=['allowed'])
    op.create_index('ix_people_community_category', 'people', ['community_id', 'category'])
    op.create_index('ix_passes_community_status', 'passes', ['community_id', 'status'])


def downgrade():
    op.drop_index('ix_passes_community_status', table_name='passes')
    op.drop_index('ix_people_community_category', table_name='people')
    op.drop_index('ix_scans_community_scanned_at', table_name='scans')
