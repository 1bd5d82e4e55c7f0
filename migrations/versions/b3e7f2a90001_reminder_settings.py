"""reminder settings an admin changes on the reminders settings page (one row; none: the REMINDERS_* settings)

Revision ID: b3e7f2a90001
Revises: a9f3d1c50001
Create Date: 2026-12-06 21:55:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3e7f2a90001'
down_revision = 'a9f3d1c50001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unsubmitted', sa.Boolean(), nullable=False),
        sa.Column('unsubmitted_days', sa.String(length=100), nullable=False),
        sa.Column('unsubmitted_hour', sa.Integer(), nullable=False),
        sa.Column('instructions', sa.Boolean(), nullable=False),
        sa.Column('instruction_hour', sa.Integer(), nullable=False),
        sa.Column('day_before', sa.Boolean(), nullable=False),
        sa.Column('day_before_hour', sa.Integer(), nullable=False),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.Column('digest_hour', sa.Integer(), nullable=False),
        sa.Column('what_to_bring', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by'], ['staff_user.id'], name='fk_reminder_settings_updated_by',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('reminder_settings')
