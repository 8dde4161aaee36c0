"""The ``calendar_event_links`` rows: which are out of date, what to sync, and recording results.

Staleness, the shared queries and the record steps are ``core.EventLink``'s; what is Google's
here is the event body, the deterministic event id, the connection's settings and the gauges.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import and_, func, insert, literal, select

from core import Appointment, UserConnector, settings_of, utcnow
from plugins.google_calendar import mapping
from plugins.google_calendar.models import CalendarEventLink

KEY = "google_calendar"
_LOCKED = "google_calendar.locked_links"  # session.info: rows read under lock in this transaction
CALLABLE_STATUS = "active"

STALE = CalendarEventLink.stale()


@dataclass(frozen=True)
class Item:
    """What one stale link must become in Google, as read at the start of a round."""

    link_id: int
    appointment_id: int
    org_id: str
    version: int
    cancelled: bool
    body: dict
    event_id: str | None
    calendar_id: str | None
    synced_version: int
    attempts: int

    @property
    def fresh_id(self) -> str:
        """The deterministic event id of this link."""
        return mapping.event_id(self.link_id, self.appointment_id)


def connector_row(session, user_id: int) -> UserConnector | None:
    """The user's google_calendar connection row."""
    return session.scalars(select(UserConnector).where(
        UserConnector.user_id == user_id, UserConnector.connector_code == KEY)).first()


def settings(row: UserConnector | None) -> dict:
    """The user's sync settings over the connector's declared defaults (primary calendar, sync on)."""
    from plugins.google_calendar import CONNECTOR

    return settings_of(row, CONNECTOR)


def target(session, user_id: int) -> str | None:
    """The calendar to write to, or None when no call may be made now (off, disconnected, broken)."""
    row = connector_row(session, user_id)
    values = settings(row)
    if row is None or row.status != CALLABLE_STATUS or not values["sync_enabled"]:
        return None
    return values["calendar_id"] or "primary"


def stale_items(session, user_id: int, limit: int) -> list[Item]:
    """Up to ``limit`` stale links of ``user_id``, oldest first, with what their event should be;
    the links are locked for this transaction, so that it may :func:`claim` them without reading them again."""
    rows = CalendarEventLink.rows(session, CalendarEventLink.user_id == user_id, STALE, limit=limit, lock=True)
    session.info.setdefault(_LOCKED, {}).update((link.id, (link, appointment)) for link, appointment in rows)
    return [_item(link, appointment) for link, appointment in rows]


def placed_future(session, user_id: int) -> list[Item]:
    """The links of ``user_id``'s appointments not over yet whose event is in a calendar."""
    return _items(session, CalendarEventLink.user_id == user_id, Appointment.ends_at >= utcnow(),
                  CalendarEventLink.calendar_id.is_not(None), CalendarEventLink.external_event_id.is_not(None),
                  CalendarEventLink.sync_status != "deleted")


def _items(session, *conditions) -> list[Item]:
    return [_item(link, appointment) for link, appointment in CalendarEventLink.rows(session, *conditions)]


def _item(link: CalendarEventLink, appointment: Appointment) -> Item:
    return Item(link.id, appointment.id, appointment.org_id, appointment.version, appointment.status == "cancelled",
                mapping.event_body(appointment, link.id), link.external_event_id, link.calendar_id,
                link.synced_version, link.attempts)


def link_missing(session, user_id: int) -> int:
    """Give every appointment of ``user_id`` that has no link yet (and is not cancelled) a pending one."""
    linked = select(CalendarEventLink.id).where(CalendarEventLink.appointment_id == Appointment.id,
                                                CalendarEventLink.user_id == user_id)
    missing = select(Appointment.id, Appointment.owner_user_id, literal("pending"), literal(0), literal(0)).where(
        Appointment.owner_user_id == user_id, Appointment.status != "cancelled", ~linked.exists())
    done = session.execute(insert(CalendarEventLink.__table__).from_select(
        ["appointment_id", "user_id", "sync_status", "synced_version", "attempts"], missing))
    return done.rowcount


def lock(session, link_ids: list[int]) -> None:
    """Read and lock, in one query, the links (with their appointments) this transaction is
    about to record on and has not locked yet; the ``record_*`` functions and :func:`claim` then use these rows."""
    locked = session.info.setdefault(_LOCKED, {})
    missing = [link_id for link_id in link_ids if link_id not in locked]
    if missing:
        locked.update(CalendarEventLink.lock(session, missing))


def _locked(session, link_id: int) -> tuple[CalendarEventLink, Appointment] | None:
    found = session.info.get(_LOCKED, {}).get(link_id)
    if found is None:
        lock(session, [link_id])
        found = session.info[_LOCKED].get(link_id)
    return found


def claim(session, item: Item, calendar_id: str) -> None:
    """Before inserting, record the event id and calendar: from now on the event *may* exist."""
    found = _locked(session, item.link_id)
    if found:
        found[0].external_event_id, found[0].calendar_id = item.fresh_id, calendar_id


def record_done(session, item: Item, calendar_id: str, target_now: str | None, deleted: bool = False) -> None:
    """Google now matches ``item``: store how far the link is synced (still pending if it moved on)."""
    found = _locked(session, item.link_id)
    if not found:
        return
    link, appointment = found
    link.calendar_id = calendar_id
    link.record_synced(appointment, item.version if target_now in (None, calendar_id) or deleted else 0,
                       "deleted" if deleted else "synced")


def record_moved_away(session, item: Item) -> None:
    """The event was removed from the calendar the user left; it is inserted in the new one next."""
    found = _locked(session, item.link_id)
    if found:
        found[0].synced_version, found[0].calendar_id = 0, None


def record_retracted(session, item: Item) -> None:
    """The event was removed because another connector is the target: placed again when sync comes back."""
    found = _locked(session, item.link_id)
    if found:
        found[0].record_retracted()


def record_problem(session, item: Item, message: str, *, failed: bool = False) -> int:
    """Keep the link pending (or ``failed``) with a message for the API; return its attempts."""
    found = _locked(session, item.link_id)
    return found[0].record_problem(message, failed=failed) if found else 0


def stale_by_user(session) -> dict[int, int]:
    """``{user_id: stale link count}`` for users whose connection may sync now."""
    rows = session.execute(
        CalendarEventLink.joined(CalendarEventLink.user_id, UserConnector)
        .join(UserConnector, and_(UserConnector.user_id == CalendarEventLink.user_id,
                                  UserConnector.connector_code == KEY))
        .where(STALE, UserConnector.status == CALLABLE_STATUS)).all()
    counts: dict[int, int] = {}
    for user_id, row in rows:
        if settings(row)["sync_enabled"]:
            counts[user_id] = counts.get(user_id, 0) + 1
    return counts


def appointment_fields(platform, session, appointment_ids: list[int]) -> dict[int, dict]:
    """Sync capability: how far each appointment's link is synced, where its event opens, and what
    the owner changed in Google (appointments API)."""
    from plugins.google_calendar.state import GoogleChange

    rows = session.execute(select(CalendarEventLink, GoogleChange).outerjoin(
        GoogleChange, GoogleChange.link_id == CalendarEventLink.id).where(
        CalendarEventLink.appointment_id.in_(appointment_ids))).all()
    accounts = dict(session.execute(select(UserConnector.user_id, UserConnector.account_label).where(
        UserConnector.connector_code == KEY, UserConnector.user_id.in_({link.user_id for link, _ in rows}))).all())
    return {link.appointment_id: {**link.sync_fields(link.external_event_id), "sync_change": _change(link, change),
                                  "external_url": event_url(link, accounts.get(link.user_id))}
            for link, change in rows}


def _change(link: CalendarEventLink, change) -> dict | None:
    """What the owner changed in Google and how to answer it, while the link waits for a choice."""
    if change is None or link.sync_status != "changed_in_google":
        return None
    return {"change": change.kind, "starts_at": change.starts_at, "ends_at": change.ends_at,
            "choose": f"/api/v1/connectors/{KEY}/changes/{link.appointment_id}",
            "keep": "keep_google", "restore": "restore"}


def event_url(link: CalendarEventLink, account: str | None) -> str | None:
    """The event's page in Google Calendar, once synced: ``eid`` is base64 of "<event id> <calendar id>",
    where the primary calendar's id is the account's address."""
    calendar = account if link.calendar_id == "primary" else link.calendar_id
    if link.sync_status != "synced" or not link.external_event_id or not calendar:
        return None
    eid = base64.b64encode(f"{link.external_event_id} {calendar}".encode()).decode().rstrip("=")
    return "https://calendar.google.com/calendar/event?" + urlencode({"eid": eid})


def gauges(session) -> list[tuple[str, str, float]]:
    """``/metrics`` gauges: stale links, failed links, and the sync lag of connections that may sync now."""
    pending = session.scalar(CalendarEventLink.joined(func.count()).where(STALE))
    failed = session.scalar(select(func.count()).select_from(CalendarEventLink).where(
        CalendarEventLink.sync_status == "failed"))
    rows = session.execute(
        select(func.min(Appointment.updated_at), UserConnector)
        .join(CalendarEventLink, Appointment.id == CalendarEventLink.appointment_id)
        .join(UserConnector, and_(UserConnector.user_id == CalendarEventLink.user_id,
                                  UserConnector.connector_code == KEY))
        .where(STALE, UserConnector.status == CALLABLE_STATUS).group_by(UserConnector.id)).all()
    oldest = min((changed for changed, row in rows if settings(row)["sync_enabled"]), default=None)
    lag = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return [("google_calendar_pending_links", "Appointment changes not yet in Google Calendar.", pending),
            ("google_calendar_failed_links", "Links Google refused or that ran out of attempts.", failed),
            ("google_calendar_sync_lag_seconds", "Age of the oldest change that could sync now but has not.",
             max(0.0, lag))]
