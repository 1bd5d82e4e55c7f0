"""reminders through the outbox: a reminder's outbox message, and the headers a message carries

Revision ID: b2c7e4f10001
Revises: b2c4e6f80001
Create Date: 2026-12-06 22:00:00

"""
import sqlalchemy as sa
from alembic import op

from intake.protection.encryption import EncryptedJSON

# revision identifiers, used by Alembic.
revision = 'b2c7e4f10001'
down_revision = 'b2c4e6f80001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', EncryptedJSON(), nullable=True))
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outbox_message_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_reminder_outbox_message_id', 'outbox_message', ['outbox_message_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint('fk_reminder_outbox_message_id', type_='foreignkey')
        batch_op.drop_column('outbox_message_id')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('headers')
