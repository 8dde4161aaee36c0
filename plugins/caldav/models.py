"""The ``caldav_event_links`` table: where one appointment lives in one user's CalDAV calendar.

Created by this plugin's own migrations (``migrations/``, branch ``caldav``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import Model, UTCDateTime


class CalDAVEventLink(Model):
    """One appointment's event in its owner's CalDAV calendar: its object URL, ETag and sync state."""

    __tablename__ = "caldav_event_links"
    __table_args__ = (
        UniqueConstraint("appointment_id", "user_id", name="uq_caldav_links_appointment_user"),
        Index("ix_caldav_links_user_status", "user_id", "sync_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    #: The calendar's path on the server (the ``calendar_id`` setting when it was written).
    calendar_id: Mapped[str | None] = mapped_column(String(1024))
    #: The event's object path (``<calendar>/<uid>.ics``); set before the first PUT is sent.
    href: Mapped[str | None] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(String(256))
    sync_status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    synced_version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
