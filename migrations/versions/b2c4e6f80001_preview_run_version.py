"""preview runs started from the admin page: the version previewed and who started it

Revision ID: b2c4e6f80001
Revises: b1e2f3a40001
Create Date: 2026-12-06 22:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2c4e6f80001'
down_revision = 'b1e2f3a40001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('preview_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_by', sa.String(length=80), nullable=False, server_default='system'))
        batch_op.create_index(batch_op.f('ix_preview_run_version_id'), ['version_id'], unique=False)
        batch_op.create_foreign_key('fk_preview_run_version_id', 'ruleset_version',
                                    ['version_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('preview_run', schema=None) as batch_op:
        batch_op.drop_constraint('fk_preview_run_version_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_preview_run_version_id'))
        batch_op.drop_column('started_by')
        batch_op.drop_column('version_id')
