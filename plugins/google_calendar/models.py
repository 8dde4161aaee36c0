"""The ``calendar_event_links`` table: where one appointment lives in one user's Google Calendar.

Its name and columns are a contract (docs/architecture.md); the table belongs to this plugin
and is created by its own migrations (``migrations/``, branch ``google_calendar``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import Model, UTCDateTime


class CalendarEventLink(Model):
    """Where one appointment lives in one user's Google Calendar, and how far it is synced."""

    __tablename__ = "calendar_event_links"
    __table_args__ = (
        UniqueConstraint("appointment_id", "user_id", name="uq_links_appointment_user"),
        Index("ix_links_user_status", "user_id", "sync_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    calendar_id: Mapped[str | None] = mapped_column(String(1024))
    external_event_id: Mapped[str | None] = mapped_column(String(1024))
    sync_status: Mapped[str] = mapped_column(String(32), nullable=False, default="pending")
    synced_version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
