"""data protection: encrypted health data, search index, chained audit log

Encrypts the existing rows with the app's first key (MESO_ENCRYPTION_KEYS, or the
development key in instance/encryption_key), builds the search index of names and emails,
counts each assessment's flags, chains the existing audit entries, and on PostgreSQL
installs the trigger that keeps audit_entry append-only.

Revision ID: d7c3a9e07001
Revises: 4df1aa69dfeb
Create Date: 2026-11-30 23:30:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7c3a9e07001'
down_revision = '4df1aa69dfeb'
branch_labels = None
depends_on = None

#: table → (column, was JSON) encrypted by this revision.
ENCRYPTED = {
    'intake': (('answers', True), ('full_name', False), ('email', False)),
    'assessment': (('document', True),),
    'flag_review': (('reason', False),),
    'plan_edit': (('plan', True), ('changes', True)),
    'decision': (('question', False), ('note', False), ('plan', True)),
    'audit_entry': (('summary', False), ('data', True)),
}
BATCH = 500
FK_NAMES = {'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s'}


def _keyring():
    from intake.protection import active_keyring

    return active_keyring()


def _to_text(table, column, was_json, length=None):
    """Change a column's type to TEXT (PostgreSQL casts JSON to its text)."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column(column, existing_type=sa.JSON() if was_json else sa.String(length),
                              type_=sa.Text(), postgresql_using=f'{column}::text')


def _rewrite(table, columns, change):
    """Apply ``change`` to every non-null value of ``columns``, in batches by id."""
    bind = op.get_bind()
    t = sa.table(table, sa.column('id', sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    after = 0
    while True:
        rows = bind.execute(sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            values = {c: change(getattr(row, c)) for c in columns if getattr(row, c) is not None}
            if values:
                bind.execute(sa.update(t).where(t.c.id == row.id).values(**values))
            after = row.id


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    keyring = _keyring()

    op.create_table('search_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('intake_id', 'digest', name='uq_search_term_intake_digest')
    )
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.create_index('ix_search_term_digest_intake', ['digest', 'intake_id'], unique=False)

    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_email'))
    _to_text('intake', 'answers', True)
    _to_text('intake', 'full_name', False, 120)
    _to_text('intake', 'email', False, 254)
    _to_text('assessment', 'document', True)
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_count', sa.Integer(), nullable=False, server_default='0'))
    _to_text('plan_edit', 'plan', True)
    _to_text('plan_edit', 'changes', True)
    _to_text('decision', 'plan', True)
    _to_text('audit_entry', 'data', True)
    with op.batch_alter_table('audit_entry', schema=None, naming_convention=FK_NAMES) as batch_op:
        if postgresql:
            batch_op.drop_constraint('audit_entry_intake_id_fkey', type_='foreignkey')
        else:
            batch_op.drop_constraint('fk_audit_entry_intake_id_intake', type_='foreignkey')
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('redacted', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Clear values first: flag counts, the search index and the audit chain are computed from them.
    _count_flags()
    _index_contact_details(keyring)
    _chain_audit_entries()
    for table, columns in ENCRYPTED.items():
        _rewrite(table, [c for c, _ in columns], keyring.encrypt)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        for column in ('content_hash', 'prev_hash', 'hash'):
            batch_op.alter_column(column, existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_audit_entry_prev_hash', ['prev_hash'])
    if postgresql:
        from intake.audit import TRIGGER, TRIGGER_FUNCTION

        op.execute(sa.text(TRIGGER_FUNCTION))
        op.execute(sa.text(TRIGGER))


def _count_flags():
    bind = op.get_bind()
    t = sa.table('assessment', sa.column('id', sa.Integer), sa.column('document', sa.Text),
                 sa.column('flag_count', sa.Integer))
    for row in bind.execute(sa.select(t.c.id, t.c.document)).all():
        flags = (json.loads(row.document) or {}).get('flags') if row.document else None
        bind.execute(sa.update(t).where(t.c.id == row.id).values(flag_count=len(flags or [])))


def _index_contact_details(keyring):
    from intake.protection.search import index_terms

    bind = op.get_bind()
    intake = sa.table('intake', sa.column('id', sa.Integer), sa.column('full_name', sa.Text),
                      sa.column('email', sa.Text))
    term = sa.table('search_term', sa.column('intake_id', sa.Integer), sa.column('digest', sa.String))
    for row in bind.execute(sa.select(intake)).all():
        digests = sorted({keyring.digest(t) for t in index_terms(row.full_name, row.email)})
        if digests:
            bind.execute(sa.insert(term), [{'intake_id': row.id, 'digest': d} for d in digests])


def _chain_audit_entries():
    from intake.audit import GENESIS, content_hash, entry_hash

    bind = op.get_bind()
    t = sa.table('audit_entry', sa.column('id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
                 sa.column('actor', sa.String), sa.column('action', sa.String), sa.column('intake_id', sa.Integer),
                 sa.column('summary', sa.Text), sa.column('data', sa.Text), sa.column('content_hash', sa.String),
                 sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    prev = GENESIS
    for row in bind.execute(sa.select(t).order_by(t.c.id)).all():
        content = content_hash(row.summary, json.loads(row.data) if row.data else {})
        digest = entry_hash(row.at, row.actor, row.action, row.intake_id, content, prev)
        bind.execute(sa.update(t).where(t.c.id == row.id).values(content_hash=content, prev_hash=prev, hash=digest))
        prev = digest


def downgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    keyring = _keyring()
    if postgresql:
        from intake.audit import DROP_FUNCTION, DROP_TRIGGER

        op.execute(sa.text(DROP_TRIGGER))
        op.execute(sa.text(DROP_FUNCTION))
    for table, columns in ENCRYPTED.items():
        _rewrite(table, [c for c, _ in columns], keyring.decrypt)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_entry_prev_hash', type_='unique')
        batch_op.drop_column('redacted')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('content_hash')
        name = 'audit_entry_intake_id_fkey' if postgresql else 'fk_audit_entry_intake_id_intake'
        batch_op.create_foreign_key(name, 'intake', ['intake_id'], ['id'], ondelete='SET NULL')
    for table, column, length in (('audit_entry', 'data', None), ('decision', 'plan', None),
                                  ('plan_edit', 'changes', None), ('plan_edit', 'plan', None),
                                  ('assessment', 'document', None), ('intake', 'email', 254),
                                  ('intake', 'full_name', 120), ('intake', 'answers', None)):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(),
                                  type_=sa.String(length) if length else sa.JSON(),
                                  postgresql_using=f'{column}::json' if not length else None)
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_column('flag_count')
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_email'), ['email'], unique=False)
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.drop_index('ix_search_term_digest_intake')
    op.drop_table('search_term')
