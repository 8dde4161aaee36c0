"""mirror: the mirror_entries table.

Revision ID: mirror_0001
Revises:
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "mirror_0001"
down_revision = None
branch_labels = ("mirror",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "mirror_entries",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("appointment_id"),
    )


def downgrade():
    op.drop_table("mirror_entries")
