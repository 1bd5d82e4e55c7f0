"""job queue: the outbox of email, resumable re-assessment runs (cursor, lease, actor), parallel previews

Revision ID: a9f3d1c50001
Revises: a9f3c5d60001
Create Date: 2026-12-06 19:40:00

"""
import sqlalchemy as sa
from alembic import op

from intake.protection.encryption import EncryptedText

# revision identifiers, used by Alembic.
revision = 'a9f3d1c50001'
down_revision = 'a9f3c5d60001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=True),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('recipient', EncryptedText(), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('text', EncryptedText(), nullable=False),
        sa.Column('html', EncryptedText(), nullable=True),
        sa.Column('language', sa.String(length=16), server_default='', nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name='fk_outbox_message_intake_id', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name='fk_outbox_message_notification_id',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_next_attempt_at'), ['next_attempt_at'], unique=False)
    op.create_table(
        'preview_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('current_files', sa.JSON(), nullable=False),
        sa.Column('candidate_files', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('max_rows', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'preview_chunk',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('offset', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['preview_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('preview_chunk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preview_chunk_run_id'), ['run_id'], unique=False)
    with op.batch_alter_table('reassess_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('actor', sa.String(length=80), nullable=False, server_default='system'))
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('reassess_run', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
        batch_op.drop_column('actor')
        batch_op.drop_column('cursor')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_state'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_intake_id'))
    op.drop_table('outbox_message')
    with op.batch_alter_table('preview_chunk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preview_chunk_run_id'))
    op.drop_table('preview_chunk')
    op.drop_table('preview_run')
