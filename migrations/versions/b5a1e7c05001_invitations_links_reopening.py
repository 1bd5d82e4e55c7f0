"""Invitations, expiring and revocable patient links, and reopening sections for more information

Revision ID: b5a1e7c05001
Revises: 4df1aa69dfeb
Create Date: 2026-11-30 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5a1e7c05001"
down_revision = "4df1aa69dfeb"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("intake") as batch:
        batch.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reopened_sections", sa.JSON(), nullable=False, server_default="[]"))
    # Links issued before this revision count from the intake's creation.
    op.execute("UPDATE intake SET link_issued_at = created_at WHERE link_issued_at IS NULL")
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("reopened_sections", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("reopened_sections")
    with op.batch_alter_table("intake") as batch:
        batch.drop_column("reopened_sections")
        batch.drop_column("link_revoked_at")
        batch.drop_column("link_issued_at")
        batch.drop_column("started_at")
        batch.drop_column("invited_at")
