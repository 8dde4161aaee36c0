"""google_calendar: the calendar_event_links table (adopted in place where core's 0001 made it).

Revision ID: google_calendar_0001
Revises:
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "google_calendar_0001"
down_revision = None
branch_labels = ("google_calendar",)
depends_on = "0001"


def upgrade():
    if sa.inspect(op.get_bind()).has_table("calendar_event_links"):
        return  # made by core's 0001 before the table belonged to this plugin: keep it and its rows
    op.create_table(
        "calendar_event_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(length=1024), nullable=True),
        sa.Column("external_event_id", sa.String(length=1024), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("synced_version", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id", "user_id", name="uq_links_appointment_user"),
    )
    with op.batch_alter_table("calendar_event_links", schema=None) as batch_op:
        batch_op.create_index("ix_links_user_status", ["user_id", "sync_status"], unique=False)


def downgrade():
    with op.batch_alter_table("calendar_event_links", schema=None) as batch_op:
        batch_op.drop_index("ix_links_user_status")
    op.drop_table("calendar_event_links")
