"""security hardening (issue 14): server-side staff sessions, sign-in throttle per email and address,
sealed audit entries and TRUNCATE refused, API token scopes and expiry

The existing audit entries are sealed (HMAC of their hash) with the audit key derived from the
app's first encryption key, as new ones are.

Revision ID: f1a2c3d4e001
Revises: e8d4b0f09001
Create Date: 2026-12-02 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a2c3d4e001'
down_revision = 'e8d4b0f09001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('staff_session') as batch_op:
        batch_op.create_index('ix_staff_session_staff_user_id', ['staff_user_id'], unique=False)

    op.create_table(
        'sign_in_throttle',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('account', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('sign_in_throttle') as batch_op:
        batch_op.create_index('ix_sign_in_throttle_account', ['account'], unique=False)
    with op.batch_alter_table('audit_entry') as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=False, server_default=''))
    _seal_audit_entries()
    if op.get_bind().dialect.name == 'postgresql':
        from intake.audit import TRUNCATE_TRIGGER, TRUNCATE_TRIGGER_FUNCTION

        op.execute(sa.text(TRUNCATE_TRIGGER_FUNCTION))
        op.execute(sa.text(TRUNCATE_TRIGGER))

    # Tokens made before scopes could create intakes: they keep write, and never expire (as before).
    with op.batch_alter_table('api_token') as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), nullable=False, server_default='write'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))

    # The per-account lock (which anyone could set off, and only for real accounts) is gone.
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.drop_column('failed_attempts')
        batch_op.drop_column('locked_until')


def _seal_audit_entries():
    from intake.audit import allow_rewrite
    from intake.protection import active_keyring

    keyring = active_keyring()
    bind = op.get_bind()
    allow_rewrite(bind)  # the append-only trigger lets mac and key_id change, nothing else
    t = sa.table('audit_entry', sa.column('id', sa.Integer), sa.column('hash', sa.String),
                 sa.column('mac', sa.String), sa.column('key_id', sa.String))
    after = 0
    while True:
        rows = bind.execute(sa.select(t.c.id, t.c.hash).where(t.c.id > after).order_by(t.c.id).limit(500)).all()
        if not rows:
            return
        for row in rows:
            bind.execute(sa.update(t).where(t.c.id == row.id)
                         .values(mac=keyring.seal(row.hash), key_id=keyring.audit_key_id))
            after = row.id


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        from intake.audit import DROP_TRUNCATE_FUNCTION, DROP_TRUNCATE_TRIGGER

        op.execute(sa.text(DROP_TRUNCATE_TRIGGER))
        op.execute(sa.text(DROP_TRUNCATE_FUNCTION))
    with op.batch_alter_table('api_token') as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
    with op.batch_alter_table('audit_entry') as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('mac')
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'))
    op.drop_table('sign_in_throttle')
    op.drop_table('staff_session')
