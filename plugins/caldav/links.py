"""The ``caldav_event_links`` rows: which are out of date, what to write, and recording results.

Staleness, the shared queries and the record steps are ``core.EventLink``'s; what is CalDAV's
here is the event an appointment becomes, its object path and its ETag.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core import Appointment, utcnow
from plugins.caldav import ical
from plugins.caldav.models import CalDAVEventLink as Link

STALE = Link.stale()


@dataclass(frozen=True)
class Item:
    """What one stale link must become in the calendar, as read at the start of a round."""

    link_id: int
    appointment_id: int
    version: int
    cancelled: bool
    event: ical.EventData
    calendar_id: str | None
    href: str | None
    etag: str | None
    synced_version: int
    attempts: int

    @property
    def ours(self) -> dict[str, str]:
        """The X- properties that mark the event as this appointment's."""
        return {ical.X_APPOINTMENT: str(self.appointment_id), ical.X_ORG: self.event.properties[ical.X_ORG]}

    def href_in(self, calendar_id: str) -> str:
        """The event's object path in ``calendar_id``."""
        return calendar_id.rstrip("/") + "/" + ical.object_name(self.event.uid)


def event_of(appointment: Appointment, link_id: int) -> ical.EventData:
    """The event an appointment becomes, with our ids in X- properties."""
    return ical.EventData(
        uid=ical.appointment_uid(appointment.org_id, appointment.id), title=appointment.title,
        starts_at=appointment.starts_at, ends_at=appointment.ends_at,
        location=appointment.location, notes=appointment.notes,
        properties={ical.X_LINK: str(link_id), ical.X_APPOINTMENT: str(appointment.id),
                    ical.X_ORG: appointment.org_id})


def _items(session, *conditions, limit: int | None = None) -> list[Item]:
    return [Item(link.id, appt.id, appt.version, appt.status == "cancelled", event_of(appt, link.id),
                 link.calendar_id, link.href, link.etag, link.synced_version, link.attempts)
            for link, appt in Link.rows(session, *conditions, limit=limit)]


def stale_items(session, user_id: int, limit: int) -> list[Item]:
    """Up to ``limit`` stale links of ``user_id``, oldest first."""
    return _items(session, Link.user_id == user_id, STALE, limit=limit)


def placed_future(session, user_id: int) -> list[Item]:
    """The links of ``user_id``'s appointments not over yet whose event is in a calendar."""
    return _items(session, Link.user_id == user_id, Appointment.ends_at >= utcnow(), Link.href.is_not(None),
                  Link.sync_status != "deleted")


def _row(session, item: Item) -> tuple[Link, Appointment] | None:
    """The link of ``item`` with its appointment, locked for this transaction."""
    return Link.lock(session, [item.link_id]).get(item.link_id)


def claim(session, item: Item, calendar_id: str) -> None:
    """Before the first PUT, record where the event goes: from now on it *may* exist there."""
    found = _row(session, item)
    if found:
        found[0].calendar_id, found[0].href = calendar_id, item.href_in(calendar_id)


def record_written(session, item: Item, calendar_id: str, etag: str | None) -> None:
    """The calendar now shows ``item``: store the ETag and how far the link is synced."""
    found = _row(session, item)
    if found:
        link, appointment = found
        link.calendar_id, link.href, link.etag = calendar_id, item.href_in(calendar_id), etag
        link.record_synced(appointment, item.version)


def record_deleted(session, item: Item) -> None:
    """The event is gone from the calendar (or never had to be written)."""
    found = _row(session, item)
    if found:
        link, appointment = found
        link.etag = None
        link.record_synced(appointment, item.version, "deleted")


def record_moved_away(session, item: Item) -> None:
    """The event was removed from the calendar the user left; it is written to the new one next."""
    found = _row(session, item)
    if found:
        found[0].calendar_id, found[0].href, found[0].etag, found[0].synced_version = None, None, None, 0


def record_retracted(session, item: Item) -> None:
    """The event was removed because another connector is the target: placed again when sync comes back."""
    found = _row(session, item)
    if found:
        found[0].record_retracted()
        found[0].href, found[0].etag = None, None


def record_problem(session, item: Item, message: str, *, failed: bool = False) -> int:
    """Keep the link pending (or ``failed``) with a message for the API; return its attempts."""
    found = _row(session, item)
    return found[0].record_problem(message, failed=failed) if found else 0


def link_missing(session, user_id: int) -> int:
    """Give every appointment of ``user_id`` without a link (and not cancelled) a pending one;
    mark the others pending so that the calendar is brought in line; return how many."""
    linked = {link.appointment_id: link for link in session.scalars(select(Link).where(Link.user_id == user_id))}
    appointments = session.scalars(select(Appointment).where(Appointment.owner_user_id == user_id)).all()
    for appointment in appointments:
        link = linked.get(appointment.id)
        if link is None and appointment.status != "cancelled":
            session.add(Link(appointment_id=appointment.id, user_id=user_id, sync_status="pending",
                             synced_version=0, attempts=0))
        elif link is not None and link.sync_status != "deleted":
            link.sync_status, link.attempts = "pending", 0
    return len(appointments)


def stale_users(session) -> dict[int, int]:
    """``{user_id: stale link count}`` over every user."""
    return dict(session.execute(Link.joined(Link.user_id, func.count()).where(STALE).group_by(Link.user_id)).all())


def appointment_fields(session, appointment_ids: list[int]) -> dict[int, dict]:
    """How far each appointment's link is synced, for the appointments API (the event's id is its path)."""
    rows = session.scalars(select(Link).where(Link.appointment_id.in_(appointment_ids)))
    return {link.appointment_id: link.sync_fields(link.href) for link in rows}
