"""The ``caldav_event_links`` table: where one appointment lives in one user's CalDAV calendar.

Created by this plugin's own migrations (``migrations/``, branch ``caldav``); the shared link
columns come from ``core.EventLink``.
"""
from __future__ import annotations

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import EventLink, Model


class CalDAVEventLink(EventLink, Model):
    """One appointment's event in its owner's CalDAV calendar: its object URL, ETag and sync state.

    ``calendar_id`` is the calendar's path on the server (the ``calendar_id`` setting when it was written).
    """

    __tablename__ = "caldav_event_links"
    __table_args__ = (
        UniqueConstraint("appointment_id", "user_id", name="uq_caldav_links_appointment_user"),
        Index("ix_caldav_links_user_status", "user_id", "sync_status"),
    )

    #: The event's object path (``<calendar>/<uid>.ics``); set before the first PUT is sent.
    href: Mapped[str | None] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(String(256))
