"""Google Calendar: push channels on the calendars that count as busy.

Revision ID: google_calendar_0003
Revises: google_calendar_0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "google_calendar_0003"
down_revision = "google_calendar_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('google_calendar_busy_channels',
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.String(length=1024), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id')
    )
    with op.batch_alter_table('google_calendar_busy_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_google_calendar_busy_channels_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('google_calendar_busy_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_google_calendar_busy_channels_user_id'))
    op.drop_table('google_calendar_busy_channels')
