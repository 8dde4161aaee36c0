"""Google Calendar Phase B: per-user sync state (sync token, push channel, polling), changes made in Google,
and room for ``changed_in_google`` in ``calendar_event_links.sync_status``.

Revision ID: google_calendar_0002
Revises: google_calendar_0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = "google_calendar_0002"
down_revision = "google_calendar_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_event_links', schema=None) as batch_op:
        batch_op.alter_column('sync_status', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
    op.create_table('google_calendar_sync_states',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.String(length=1024), nullable=False),
    sa.Column('sync_token', sa.Text(), nullable=True),
    sa.Column('channel_id', sa.String(length=64), nullable=True),
    sa.Column('channel_resource_id', sa.String(length=255), nullable=True),
    sa.Column('channel_token_hash', sa.String(length=64), nullable=True),
    sa.Column('channel_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('channel_id')
    )
    op.create_table('google_calendar_changes',
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['calendar_event_links.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('link_id')
    )


def downgrade():
    op.drop_table('google_calendar_changes')
    op.drop_table('google_calendar_sync_states')
    with op.batch_alter_table('calendar_event_links', schema=None) as batch_op:
        batch_op.alter_column('sync_status', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
