"""preview speed: assessment.flag_summary (the flags in short, what a preview reuses of a stored
assessment) and an index on intake (submitted_at, id), the preview's order

Revision ID: b1e2f3a40001
Revises: b3e7f2a90001
Create Date: 2026-12-06 22:10:00

Assessments stored before it have no flag summary: a preview assesses those again (as it did when the
stored document cost more to read than the rules to run), so nothing is backfilled.
"""
import sqlalchemy as sa
from alembic import op

from intake.protection.encryption import EncryptedText

# revision identifiers, used by Alembic.
revision = 'b1e2f3a40001'
down_revision = 'b3e7f2a90001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.add_column(sa.Column('flag_summary', EncryptedText(), nullable=True))
    op.create_index('ix_intake_submitted', 'intake', ['submitted_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_intake_submitted', table_name='intake')
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.drop_column('flag_summary')
