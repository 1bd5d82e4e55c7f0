"""the patient's language on the intake (issue 17)

Revision ID: d9a1f2c3e001
Revises: c7e2a4b30001
Create Date: 2026-12-06 19:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd9a1f2c3e001'
down_revision = "c7e2a4b30001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        # "" on the intakes before: the clinic's default language, which they were in.
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_column('language')
