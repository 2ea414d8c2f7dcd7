"""registrations.link_version: the pass link a registration's status page may show

Revision ID: b13000000e01
Revises: b10000000001
Create Date: 2026-12-02 04:30:00

Registrations approved before this revision keep no link on their status page
(NULL): their link may be a pass of a person who existed before the registration.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b13000000e01'
down_revision = 'b10000000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_version', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('link_version')
