"""reminders: the reminder table (one row per reminder, unique key) and the patient's stop on intake

Revision ID: d9a4c1e60001
Revises: d9a1f2c3e001
Create Date: 2026-12-06 19:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd9a4c1e60001'
down_revision = 'd9a1f2c3e001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=True),
        sa.Column('staff_user_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name='fk_reminder_intake_id', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name='fk_reminder_staff_user_id',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_intake_id'), ['intake_id'], unique=False)
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_stopped_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_column('reminders_stopped_at')
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_intake_id'))
    op.drop_table('reminder')
