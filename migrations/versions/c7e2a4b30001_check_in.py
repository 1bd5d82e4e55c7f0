"""appointment-day check-in: the check_in table, and the queue's marks on intake

Revision ID: c7e2a4b30001
Revises: b1d5f3e20001
Create Date: 2026-12-06 17:40:00

"""
import sqlalchemy as sa
from alembic import op

from intake.protection.encryption import EncryptedText, active_keyring

# revision identifiers, used by Alembic.
revision = 'c7e2a4b30001'
down_revision = 'b1d5f3e20001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'check_in',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answers', sa.Text(), nullable=False),
        sa.Column('previous_assessment_id', sa.Integer(), nullable=True),
        sa.Column('assessment_id', sa.Integer(), nullable=True),
        sa.Column('raised', sa.JSON(), nullable=False),
        sa.Column('lifted', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['previous_assessment_id'], ['assessment.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_intake_id'), ['intake_id'], unique=False)
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('flagged_at_check_in', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('check_in_code', EncryptedText(), nullable=True))
        batch_op.add_column(sa.Column('check_in_code_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_intake_check_in_code_digest', ['check_in_code_digest'])
    # Codes are made when a patient or staff first need one (patient.service.ensure_check_in_code).
    empty = active_keyring().encrypt('')
    op.get_bind().execute(sa.update(sa.table('intake', sa.column('check_in_code', sa.Text))).values(
        check_in_code=empty))
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.alter_column('check_in_code', existing_type=sa.Text(), nullable=False)


def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_constraint('uq_intake_check_in_code_digest', type_='unique')
        batch_op.drop_column('check_in_code_digest')
        batch_op.drop_column('check_in_code')
        batch_op.drop_column('flagged_at_check_in')
        batch_op.drop_column('checked_in_at')
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_intake_id'))
    op.drop_table('check_in')
