"""preview speed: assessment.flag_summary, indexes on intake (submitted_at, id) and assessment (intake_id, id)

The flags in short are what a preview reuses of a stored assessment; the first index is the
preview's order (newest first); the second finds an intake's latest assessment from the index
alone (it replaces the index on intake_id, which it covers).

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
    if op.get_bind().dialect.name == 'sqlite':
        # Before the document: SQLite reads a row's columns in order, so a column after the document
        # is reached through its overflow pages (15 KB). The table is copied once to place it.
        with op.batch_alter_table('assessment', recreate='always') as batch_op:
            batch_op.add_column(sa.Column('flag_summary', EncryptedText(), nullable=True), insert_before='document')
    else:
        # PostgreSQL keeps long values out of the row (TOAST): the order costs nothing there.
        op.add_column('assessment', sa.Column('flag_summary', EncryptedText(), nullable=True))
    op.create_index('ix_intake_submitted', 'intake', ['submitted_at', 'id'], unique=False)
    op.create_index('ix_assessment_intake_latest', 'assessment', ['intake_id', 'id'], unique=False)
    op.drop_index('ix_assessment_intake_id', table_name='assessment')


def downgrade():
    op.create_index('ix_assessment_intake_id', 'assessment', ['intake_id'], unique=False)
    op.drop_index('ix_assessment_intake_latest', table_name='assessment')
    op.drop_index('ix_intake_submitted', table_name='intake')
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.drop_column('flag_summary')
