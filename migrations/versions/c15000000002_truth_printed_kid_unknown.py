"""passes.printed_kid = '?' where unknown: cards made before every way recorded its key

Revision ID: c15000000002
Revises: c15000000001
Create Date: 2026-12-02 04:45:00

Until now only batch print recorded the key a card carries; cards saved from the
pass page (PNG/SVG) and every card printed before migration b12000000001 left
``printed_kid`` NULL, so the reprint list after ``keys rotate`` missed them and
they were refused KEY_RETIRED after ``keys retire``. No migration can know
their key: they are marked unknown ('?', ``services.printing.UNKNOWN_KID``),
and the reprint list counts unknown as old. From here on NULL means "never
made into a card".
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c15000000002'
down_revision = 'c15000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE passes SET printed_kid = '?' WHERE printed_kid IS NULL")


def downgrade():
    op.execute("UPDATE passes SET printed_kid = NULL WHERE printed_kid = '?'")
