"""phones: households.link_version for the family (household) phone link

Revision ID: c17000000001
Revises: b10000000001
Create Date: 2026-12-02 04:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c17000000001'
down_revision = 'c15000000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_column('link_version')
