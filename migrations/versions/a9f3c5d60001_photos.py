"""photos: the photo table (what each photo is and the patient's consents) and photo_blob (encrypted bytes)

Revision ID: a9f3c5d60001
Revises: d9a4c1e60001
Create Date: 2026-12-06 19:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9f3c5d60001'
down_revision = 'd9a4c1e60001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('added_by', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('area', sa.String(length=30), nullable=False),
        sa.Column('taken_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('media_type', sa.String(length=30), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('thumbnail_width', sa.Integer(), nullable=False),
        sa.Column('thumbnail_height', sa.Integer(), nullable=False),
        sa.Column('image_key', sa.String(length=64), nullable=False),
        sa.Column('thumbnail_key', sa.String(length=64), nullable=False),
        sa.Column('clinical_consent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('marketing_consent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('marketing_withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('image_key'),
        sa.UniqueConstraint('thumbnail_key'),
    )
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_intake_id'), ['intake_id'], unique=False)
    op.create_table(
        'photo_blob',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade():
    op.drop_table('photo_blob')
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_intake_id'))
    op.drop_table('photo')
