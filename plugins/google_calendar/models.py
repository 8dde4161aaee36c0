"""The ``calendar_event_links`` table: where one appointment lives in one user's Google Calendar.

Its name and columns are a contract (docs/architecture.md); the table belongs to this plugin
and is created by its own migrations (``migrations/``, branch ``google_calendar``). The shared
link columns come from ``core.EventLink``.
"""
from __future__ import annotations

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import EventLink, Model


class CalendarEventLink(EventLink, Model):
    """Where one appointment lives in one user's Google Calendar, and how far it is synced."""

    __tablename__ = "calendar_event_links"
    __table_args__ = (
        UniqueConstraint("appointment_id", "user_id", name="uq_links_appointment_user"),
        Index("ix_links_user_status", "user_id", "sync_status"),
    )
    #: Wide enough for ``changed_in_google`` (migration google_calendar_0002).
    sync_status_length = 32

    external_event_id: Mapped[str | None] = mapped_column(String(1024))
