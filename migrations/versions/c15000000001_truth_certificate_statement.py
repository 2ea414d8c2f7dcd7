"""health_certificates.statement: the certificate's sentence as printed (issue 15 §3)

Revision ID: c15000000001
Revises: b10000000001
Create Date: 2026-12-02 04:40:00

Certificates issued before keep "" and are rendered from their episode
(``services.certificates.statement_of``).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15000000001'
down_revision = 'b13000000e01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('health_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement', sa.String(length=400), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('health_certificates', schema=None) as batch_op:
        batch_op.drop_column('statement')
