"""Invitations, expiring and revocable patient links, reopening sections for more information,
and the queue's denormalised columns (review_status, latest_outcome, queue_sort) with their indexes

Revision ID: b5a1e7c05001
Revises: d7c3a9e07001
Create Date: 2026-11-30 23:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5a1e7c05001"
down_revision = "d7c3a9e07001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("intake") as batch:
        batch.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("link_revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reopened_sections", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("review_status", sa.String(length=30), nullable=False, server_default="draft"))
        batch.add_column(sa.Column("latest_outcome", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("queue_sort", sa.Integer(), nullable=False, server_default="9"))
    # Links issued before this revision count from the intake's creation.
    op.execute("UPDATE intake SET link_issued_at = created_at WHERE link_issued_at IS NULL")
    # The queue's columns, as the grouped subqueries they replace computed them.
    op.execute("""
        UPDATE intake SET latest_outcome = (
            SELECT a.outcome FROM assessment a
            WHERE a.id = (SELECT max(a2.id) FROM assessment a2 WHERE a2.intake_id = intake.id))
    """)
    op.execute("""
        UPDATE intake SET review_status = CASE WHEN status = 'draft' THEN 'draft' ELSE coalesce((
            SELECT d.outcome FROM decision d
            WHERE d.id = (SELECT max(d2.id) FROM decision d2 WHERE d2.intake_id = intake.id)
              AND d.assessment_id = (SELECT max(a.id) FROM assessment a WHERE a.intake_id = intake.id)
        ), 'awaiting_review') END
    """)
    op.execute("""
        UPDATE intake SET queue_sort = (CASE latest_outcome WHEN 'contraindicated' THEN 0 WHEN 'defer' THEN 2
            WHEN 'precaution' THEN 4 WHEN 'suitable' THEN 6 ELSE 8 END)
            + (CASE WHEN appointment_date IS NULL THEN 1 ELSE 0 END)
    """)
    op.create_index("ix_intake_queue", "intake", ["review_status", "queue_sort", "appointment_date", "id"])
    # Narrow, for the counts per status.
    op.create_index("ix_intake_review_status", "intake", ["review_status"])
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("reopened_sections", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("reopened_sections")
    op.drop_index("ix_intake_review_status", table_name="intake")
    op.drop_index("ix_intake_queue", table_name="intake")
    with op.batch_alter_table("intake") as batch:
        batch.drop_column("queue_sort")
        batch.drop_column("latest_outcome")
        batch.drop_column("review_status")
        batch.drop_column("reopened_sections")
        batch.drop_column("link_revoked_at")
        batch.drop_column("link_issued_at")
        batch.drop_column("started_at")
        batch.drop_column("invited_at")
