"""decisions that stand, reviews that carry over, notifications to patients, the clinic's identity

Amendments supersede a signed decision (decision.supersedes_id, amendment_reason), a decision
says something to the patient (patient_message) and keeps the patient's reply; reviews and
plan edits carried over to a new assessment point at the ones they repeat; an assessment
keeps the answers it was made from and what carried over; the intake keeps what a patient
typed on a section saved for later (drafts), an amendment in progress, and the read-only
status link of notifications; messages to patients and the clinic's profile get tables.

flag_count no longer counts info items (they are not flags to review): existing counts are
recomputed from the encrypted documents, as e8d4b0f09001 counted the rule tally.

Revision ID: a9c4e2d10001
Revises: f1a2c3d4e001
Create Date: 2026-12-06 15:30:00

"""
import json

import sqlalchemy as sa
from alembic import op

from intake.protection.encryption import EncryptedJSON, EncryptedText, active_keyring

# revision identifiers, used by Alembic.
revision = 'a9c4e2d10001'
down_revision = 'f1a2c3d4e001'
branch_labels = None
depends_on = None

BATCH = 500
#: New encrypted columns that existing rows fill with an encrypted empty value, then NOT NULL.
ENCRYPTED_TEXT = {'decision': ('patient_message', 'amendment_reason', 'reply'), 'intake': ('amendment_reason',)}


def upgrade():
    op.create_table(
        'clinic_profile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('address', sa.Text(), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('opening_hours', sa.Text(), nullable=False),
        sa.Column('contact_note', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by'], ['staff_user.id'], name='fk_clinic_profile_updated_by',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name='fk_notification_intake_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notification_intake_id', 'notification', ['intake_id'])

    with op.batch_alter_table('assessment') as batch_op:
        batch_op.add_column(sa.Column('answers', EncryptedJSON(), nullable=True))
        batch_op.add_column(sa.Column('carried', EncryptedJSON(), nullable=True))
    with op.batch_alter_table('decision') as batch_op:
        for name in ENCRYPTED_TEXT['decision']:
            batch_op.add_column(sa.Column(name, EncryptedText(), nullable=True))
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_decision_supersedes_id', 'decision', ['supersedes_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('flag_review') as batch_op:
        batch_op.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_flag_review_carried_from_id', 'flag_review', ['carried_from_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('plan_edit') as batch_op:
        batch_op.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_plan_edit_carried_from_id', 'plan_edit', ['carried_from_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('intake') as batch_op:
        batch_op.add_column(sa.Column('drafts', EncryptedJSON(), nullable=True))
        batch_op.add_column(sa.Column('amending_decision_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('amendment_reason', EncryptedText(), nullable=True))
        batch_op.add_column(sa.Column('status_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('status_link_issued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_intake_status_token_hash', ['status_token_hash'])

    keyring = active_keyring()
    bind = op.get_bind()
    empty_text, empty_document = keyring.encrypt(''), keyring.encrypt('{}')
    for table_name, columns in ENCRYPTED_TEXT.items():
        table = sa.table(table_name, *(sa.column(name, sa.Text) for name in columns))
        bind.execute(sa.update(table).values({name: empty_text for name in columns}))
    bind.execute(sa.update(sa.table('intake', sa.column('drafts', sa.Text))).values(drafts=empty_document))
    for table_name, columns in ENCRYPTED_TEXT.items():
        with op.batch_alter_table(table_name) as batch_op:
            for name in columns:
                batch_op.alter_column(name, existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table('intake') as batch_op:
        batch_op.alter_column('drafts', existing_type=sa.Text(), nullable=False)

    # Info items are not flags to review: count only the others.
    assessment = sa.table('assessment', sa.column('id', sa.Integer), sa.column('document', sa.Text),
                          sa.column('flag_count', sa.Integer))
    after = 0
    while True:
        rows = bind.execute(sa.select(assessment.c.id, assessment.c.document).where(assessment.c.id > after)
                            .order_by(assessment.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            document = json.loads(keyring.decrypt(row.document)) if row.document else {}
            count = sum(1 for flag in (document or {}).get('flags') or [] if flag.get('severity') != 'info')
            bind.execute(sa.update(assessment).where(assessment.c.id == row.id).values(flag_count=count))
            after = row.id


def downgrade():
    keyring = active_keyring()
    bind = op.get_bind()
    assessment = sa.table('assessment', sa.column('id', sa.Integer), sa.column('document', sa.Text),
                          sa.column('flag_count', sa.Integer))
    after = 0
    while True:
        rows = bind.execute(sa.select(assessment.c.id, assessment.c.document).where(assessment.c.id > after)
                            .order_by(assessment.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            document = json.loads(keyring.decrypt(row.document)) if row.document else {}
            bind.execute(sa.update(assessment).where(assessment.c.id == row.id)
                         .values(flag_count=len((document or {}).get('flags') or [])))
            after = row.id
    with op.batch_alter_table('intake') as batch_op:
        batch_op.drop_constraint('uq_intake_status_token_hash', type_='unique')
        for name in ('status_link_issued_at', 'status_token_hash', 'amendment_reason', 'amending_decision_id',
                     'drafts'):
            batch_op.drop_column(name)
    with op.batch_alter_table('plan_edit') as batch_op:
        batch_op.drop_constraint('fk_plan_edit_carried_from_id', type_='foreignkey')
        batch_op.drop_column('carried_from_id')
    with op.batch_alter_table('flag_review') as batch_op:
        batch_op.drop_constraint('fk_flag_review_carried_from_id', type_='foreignkey')
        batch_op.drop_column('carried_from_id')
    with op.batch_alter_table('decision') as batch_op:
        batch_op.drop_constraint('fk_decision_supersedes_id', type_='foreignkey')
        for name in ('replied_at', 'supersedes_id', *ENCRYPTED_TEXT['decision']):
            batch_op.drop_column(name)
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.drop_column('carried')
        batch_op.drop_column('answers')
    op.drop_index('ix_notification_intake_id', table_name='notification')
    op.drop_table('notification')
    op.drop_table('clinic_profile')
