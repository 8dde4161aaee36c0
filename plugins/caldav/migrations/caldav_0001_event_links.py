"""caldav: the caldav_event_links table.

Revision ID: caldav_0001
Revises:
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "caldav_0001"
down_revision = None
branch_labels = ("caldav",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "caldav_event_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(length=1024), nullable=True),
        sa.Column("href", sa.String(length=2048), nullable=True),
        sa.Column("etag", sa.String(length=256), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("synced_version", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id", "user_id", name="uq_caldav_links_appointment_user"),
    )
    with op.batch_alter_table("caldav_event_links", schema=None) as batch_op:
        batch_op.create_index("ix_caldav_links_user_status", ["user_id", "sync_status"], unique=False)


def downgrade():
    with op.batch_alter_table("caldav_event_links", schema=None) as batch_op:
        batch_op.drop_index("ix_caldav_links_user_status")
    op.drop_table("caldav_event_links")
