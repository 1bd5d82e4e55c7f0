"""rule tally: how many assessments flagged each rule, for the override report

The flags live in the encrypted assessment documents; this revision counts them once
(decrypting each document with the app's keys) so the report never has to.

Revision ID: e8d4b0f09001
Revises: c6b2f8d06001
Create Date: 2026-12-01 01:00:00

"""
import json
from collections import Counter

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e8d4b0f09001'
down_revision = 'c6b2f8d06001'
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    op.create_table(
        'rule_tally',
        sa.Column('rule_id', sa.String(length=80), nullable=False),
        sa.Column('flagged', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('rule_id'),
    )
    from intake.protection import active_keyring

    keyring = active_keyring()
    bind = op.get_bind()
    assessment = sa.table('assessment', sa.column('id', sa.Integer), sa.column('document', sa.Text))
    tally: Counter[str] = Counter()
    after = 0
    while True:
        rows = bind.execute(sa.select(assessment).where(assessment.c.id > after)
                            .order_by(assessment.c.id).limit(BATCH)).all()
        if not rows:
            break
        for row in rows:
            document = json.loads(keyring.decrypt(row.document)) if row.document else {}
            tally.update({flag['rule_id'] for flag in (document or {}).get('flags') or []})
            after = row.id
    if tally:
        table = sa.table('rule_tally', sa.column('rule_id', sa.String), sa.column('flagged', sa.Integer))
        bind.execute(sa.insert(table), [{'rule_id': rule_id, 'flagged': number}
                                        for rule_id, number in sorted(tally.items())])


def downgrade():
    op.drop_table('rule_tally')
