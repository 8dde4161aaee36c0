"""The ``caldav_event_links`` rows: which are out of date, what to write, and recording results.

A link is *stale* when it is ``pending``, or when its ``synced_version`` is behind the
appointment's ``version`` and it has not ``failed``. Staleness is re-read from the rows every
time, so a change that lands while a job runs is never mistaken for synced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import and_, func, or_, select

from core import Appointment, utcnow
from plugins.caldav import ical
from plugins.caldav.models import CalDAVEventLink as Link

BEHIND = Link.synced_version < Appointment.version
STALE = and_(Link.sync_status != "failed", or_(Link.sync_status == "pending", BEHIND))


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
    rows = session.execute(select(Link, Appointment).join(Appointment, Appointment.id == Link.appointment_id)
                           .where(*conditions).order_by(Link.id).limit(limit)).all()
    return [Item(link.id, appt.id, appt.version, appt.status == "cancelled", event_of(appt, link.id),
                 link.calendar_id, link.href, link.etag, link.synced_version, link.attempts) for link, appt in rows]


def stale_items(session, user_id: int, limit: int) -> list[Item]:
    """Up to ``limit`` stale links of ``user_id``, oldest first."""
    return _items(session, Link.user_id == user_id, STALE, limit=limit)


def placed_future(session, user_id: int) -> list[Item]:
    """The links of ``user_id``'s appointments not over yet whose event is in a calendar."""
    return _items(session, Link.user_id == user_id, Appointment.ends_at >= utcnow(), Link.href.is_not(None),
                  Link.sync_status != "deleted")


def has_stale(session, user_id: int) -> bool:
    """Whether ``user_id`` has any stale link."""
    return session.scalar(select(Link.id).join(Appointment, Appointment.id == Link.appointment_id)
                          .where(Link.user_id == user_id, STALE).limit(1)) is not None


def _row(session, item: Item) -> tuple[Link, Appointment] | None:
    """The link of ``item`` with its appointment, locked for this transaction."""
    return session.execute(select(Link, Appointment).join(Appointment, Appointment.id == Link.appointment_id)
                           .where(Link.id == item.link_id).with_for_update(of=Link)).first()


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
        _done(link, appointment, item.version, "synced")


def record_deleted(session, item: Item) -> None:
    """The event is gone from the calendar (or never had to be written)."""
    found = _row(session, item)
    if found:
        link, appointment = found
        link.etag = None
        _done(link, appointment, item.version, "deleted")


def record_moved_away(session, item: Item) -> None:
    """The event was removed from the calendar the user left; it is written to the new one next."""
    found = _row(session, item)
    if found:
        found[0].calendar_id, found[0].href, found[0].etag, found[0].synced_version = None, None, None, 0


def record_retracted(session, item: Item) -> None:
    """The event was removed because another connector is the target: placed again when sync comes back."""
    found = _row(session, item)
    if found:
        link = found[0]
        link.sync_status, link.synced_version, link.calendar_id, link.href, link.etag = "deleted", 0, None, None, None
        link.attempts, link.last_error, link.synced_at = 0, None, utcnow()


def _done(link: Link, appointment: Appointment, version: int, status: str) -> None:
    link.synced_version, link.attempts, link.last_error, link.synced_at = version, 0, None, utcnow()
    link.sync_status = status if appointment.version == version else "pending"


def record_problem(session, item: Item, message: str, *, failed: bool = False) -> int:
    """Keep the link pending (or ``failed``) with a message for the API; return its attempts."""
    found = _row(session, item)
    if not found:
        return 0
    link = found[0]
    link.attempts += 1
    link.last_error = message
    if failed:
        link.sync_status = "failed"
    return link.attempts


def mark_changed(session, appointment_id: int, user_id: int) -> tuple[int, bool]:
    """Mark the appointment's link pending (creating it); return its id and whether it just became stale."""
    link = session.scalars(select(Link).where(Link.appointment_id == appointment_id, Link.user_id == user_id)).first()
    if link is None:
        link = Link(appointment_id=appointment_id, user_id=user_id, sync_status="pending", synced_version=0,
                    attempts=0)
        session.add(link)
        session.flush()
        return link.id, True
    was_stale = link.sync_status == "pending"
    link.sync_status, link.attempts = "pending", 0
    return link.id, not was_stale


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


def mark_calendar_switched(session, user_id: int) -> None:
    """After the user picks another calendar, every link of theirs must be re-placed."""
    for link in session.scalars(select(Link).where(Link.user_id == user_id)):
        link.synced_version, link.sync_status, link.attempts = 0, "pending", 0


def retry_failed(session, user_id: int | None = None) -> int:
    """Give ``failed`` links that are behind another chance (all users when ``user_id`` is None)."""
    query = (select(Link).join(Appointment, Appointment.id == Link.appointment_id)
             .where(Link.sync_status == "failed", BEHIND))
    if user_id is not None:
        query = query.where(Link.user_id == user_id)
    found = session.scalars(query).all()
    for link in found:
        link.sync_status, link.attempts = "pending", 0
    return len(found)


def stale_users(session) -> dict[int, int]:
    """``{user_id: stale link count}`` over every user."""
    rows = session.execute(select(Link.user_id, func.count()).join(Appointment, Appointment.id == Link.appointment_id)
                           .where(STALE).group_by(Link.user_id)).all()
    return dict(rows)


def status_details(session, user_id: int) -> dict:
    """When the user's calendar last received a change, and how many appointments still wait."""
    last, waiting = session.execute(
        select(func.max(Link.synced_at), func.count().filter(Link.sync_status == "pending"))
        .where(Link.user_id == user_id)).one()
    if last is not None and last.tzinfo is None:  # SQLite's MAX() loses the column type
        last = last.replace(tzinfo=UTC)
    return {"last_sync": last.isoformat() if last else None, "pending_changes": waiting}


def appointment_fields(session, appointment_ids: list[int]) -> dict[int, dict]:
    """How far each appointment's link is synced, for the appointments API."""
    rows = session.scalars(select(Link).where(Link.appointment_id.in_(appointment_ids)))
    return {link.appointment_id: {"sync_status": link.sync_status, "external_event_id": link.href,
                                  "calendar_id": link.calendar_id, "sync_error": link.last_error,
                                  "synced_at": link.synced_at} for link in rows}
