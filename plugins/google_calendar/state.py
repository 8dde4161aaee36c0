"""The plugin's Phase B rows: per-user sync state (sync token, push channel, polling) and changes seen in Google."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core import Model, UTCDateTime, utcnow


class SyncState(Model):
    """How far one user's sync target calendar has been read back, and how we hear of its changes."""

    __tablename__ = "google_calendar_sync_states"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: The calendar the sync token and channel belong to (a change of target starts over).
    calendar_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    sync_token: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel_resource_id: Mapped[str | None] = mapped_column(String(255))
    #: SHA-256 of the channel token Google echoes in every notification (the token itself is not kept).
    channel_token_hash: Mapped[str | None] = mapped_column(String(64))
    channel_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When polling (without push) should read the calendar next.
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GoogleChange(Model):
    """A move or deletion of one of our events made in Google, waiting for the user's choice."""

    __tablename__ = "google_calendar_changes"

    link_id: Mapped[int] = mapped_column(ForeignKey("calendar_event_links.id", ondelete="CASCADE"), primary_key=True)
    #: ``moved`` or ``deleted``.
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class BusyChannel(Model):
    """A push channel on one of the user's "count as busy" calendars: a notification forgets their busy cache."""

    __tablename__ = "google_calendar_busy_channels"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    calendar_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(255), nullable=False)
    #: SHA-256 of the channel token (the token itself is not kept).
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
