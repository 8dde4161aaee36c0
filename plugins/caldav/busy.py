"""Busy times from the CalDAV calendar (for ``GET /api/v1/availability`` and booking conflicts).

The calendar that counts is the sync target (the ``calendar_id`` setting, else the account's
first calendar). One ``CALDAV:free-busy-query`` REPORT (RFC 4791 §7.10) asks the server for the
busy periods of a window of at least a week around the question; a server that does not support
it (a 4xx or 501 to that REPORT) is asked with a time-range ``calendar-query`` instead, its
recurring events expanded by the `caldav` library. Either way only instants leave this module,
never a title, a place or an attendee, and events marked ``TRANSP:TRANSPARENT`` ("show as free")
or ``STATUS:CANCELLED`` do not count (``FBTYPE=FREE`` periods neither).

Answers are kept for ``TTL`` seconds per user (Redis when ``REDIS_URL`` is set, else the
process's memory) and forgotten when the sync writes to the calendar or the settings change.
As with Google Calendar, busy times are read only while sync is on: with sync switched off
Cassius makes no CalDAV call for the user. A server that refuses the login or fails answers
``unavailable`` (the other sources and the appointments still count); a connection waiting for
a new app password answers ``reconnect_required``.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

import caldav
from caldav.lib import error as dav_error

from core import N_, BusyCache, BusyTimes, ConnectorError
from core import gettext as _
from plugins.caldav import client

log = logging.getLogger(__name__)

KEY = "caldav"
#: A cached answer is trusted this long (a CalDAV server sends no change notifications).
TTL = 60
#: A fetch covers at least this much, so a week's questions cost one REPORT.
MIN_WINDOW = timedelta(days=7)
MAX_WINDOW = timedelta(days=62)
PREFIX = "connectors:caldav:busy:"
CALLABLE = ("active", "error")
#: Answers to a free-busy REPORT that mean "not supported here": ask with a calendar-query.
UNSUPPORTED = (400, 403, 404, 405, 406, 415, 422, 501)
#: FREEBUSY periods of these types make the user busy (RFC 5545 §3.2.9); FREE does not.
BUSY_TYPES = ("BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE")
UNAVAILABLE = N_("CalDAV busy times could not be read: %(reason)s")
RECONNECT = N_("Re-connect CalDAV with a new app password to count its busy times.")


def cache(platform) -> BusyCache:
    """The app's CalDAV busy cache."""
    return platform.shared("caldav.busy", lambda: BusyCache(platform.redis, prefix=PREFIX, ttl=TTL))


def forget(platform, user_id: int) -> None:
    """The user's calendar changed (we wrote to it, or another calendar was chosen)."""
    cache(platform).forget(user_id)


def busy_intervals(platform, user_id: int, start: datetime, end: datetime) -> BusyTimes | None:
    """``user_id``'s CalDAV busy times in ``[start, end)``; None when CalDAV is not connected or sync is off."""
    with platform.db.session_scope() as session:
        row = platform.connection(session, user_id, KEY)
        if row is None or row.status not in (*CALLABLE, "needs_reauth"):
            return None
        settings = platform.settings(session, user_id, KEY)
        if not settings["sync_enabled"]:
            return None  # sync switched off: Cassius makes no CalDAV call for this user
        if row.status == "needs_reauth":
            return BusyTimes(KEY, notice="reconnect_required", message=_(RECONNECT))
        values = platform.credentials.load_config(session, user_id, KEY)
    entry = cache(platform).get(user_id)
    wanted = settings["calendar_id"] or None
    if not _covers(entry, values, wanted, start, end):
        try:
            entry = fetch(client.Account.from_values(values), wanted, start, end)
        except ConnectorError as exc:
            log.info("CalDAV busy times of user %s not read: %s", user_id, exc.code)
            return BusyTimes(KEY, notice="unavailable", message=_(UNAVAILABLE, reason=_(exc.message)))
        entry["account"] = _account_key(values)
        cache(platform).put(user_id, entry)
    intervals = tuple((s, e) for s, e in (_instants(pair) for pair in entry["busy"]) if s < end and e > start)
    return BusyTimes(KEY, intervals)


def _account_key(values: dict) -> str:
    return f"{values.get('url')}|{values.get('username')}"


def _covers(entry: dict | None, values: dict, wanted: str | None, start: datetime, end: datetime) -> bool:
    return (entry is not None and entry.get("account") == _account_key(values) and entry["wanted"] == wanted
            and time.time() - entry["fetched"] < TTL
            and entry["from"] <= start.timestamp() and end.timestamp() <= entry["to"])


def _instants(pair) -> tuple[datetime, datetime]:
    return datetime.fromtimestamp(pair[0], UTC), datetime.fromtimestamp(pair[1], UTC)


def fetch(account: client.Account, calendar_id: str | None, start: datetime, end: datetime) -> dict:
    """The busy periods of the calendar over a window of at least a week around ``[start, end)``."""
    window_start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window_end = min(max(end.astimezone(UTC), window_start + MIN_WINDOW), window_start + MAX_WINDOW)
    if calendar_id is None:
        listed = client.calendars(account)
        if not listed:
            raise ConnectorError(N_("This CalDAV account has no calendar; create one first."), code="not_found")
        path = listed[0]["id"]
    else:
        path = calendar_id
    with client.connect(account) as dav:
        calendar = client.calendar(dav, account, path)
        periods = _free_busy(calendar, window_start, window_end)
        if periods is None:
            periods = _from_events(calendar, window_start, window_end)
    busy = sorted([s.timestamp(), e.timestamp()] for s, e in periods if e > s)
    return {"wanted": calendar_id, "from": window_start.timestamp(), "to": window_end.timestamp(),
            "fetched": time.time(), "busy": busy}


def _free_busy(calendar: caldav.Calendar, start: datetime, end: datetime) -> list | None:
    """The busy periods from a ``free-busy-query`` REPORT; None when the server does not support it."""
    try:
        answer = calendar.freebusy_request(start, end)
    except (dav_error.ReportError, dav_error.NotFoundError) as exc:
        if getattr(exc, "status", None) in UNSUPPORTED or isinstance(exc, dav_error.NotFoundError):
            return None
        raise
    periods = []
    for component in answer.icalendar_instance.walk("VFREEBUSY"):
        found = component.get("FREEBUSY") or []
        for period in found if isinstance(found, list) else [found]:
            if str(period.params.get("FBTYPE", "BUSY")).upper() not in BUSY_TYPES:
                continue
            begins, ends = period.dt
            if isinstance(ends, timedelta):
                ends = begins + ends
            periods.append((_aware(begins), _aware(ends)))
    return periods


def _from_events(calendar: caldav.Calendar, start: datetime, end: datetime) -> list:
    """The busy periods from a time-range ``calendar-query``, recurring events expanded."""
    periods = []
    for found in calendar.search(start=start, end=end, event=True, expand=True):
        for event in found.icalendar_instance.walk("VEVENT"):
            if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            begins = event.get("DTSTART")
            if begins is None:
                continue
            begins = begins.dt
            if event.get("DTEND") is not None:
                ends = event["DTEND"].dt
            elif event.get("DURATION") is not None:
                ends = begins + event["DURATION"].dt
            else:  # RFC 5545 §3.6.1: a date lasts a day, a date-time no time at all
                ends = begins + timedelta(days=1) if not isinstance(begins, datetime) else begins
            periods.append((_aware(begins), _aware(ends)))
    return periods


def _aware(value) -> datetime:
    """A datetime in UTC; a date (all-day event) or floating time is taken in UTC."""
    if not isinstance(value, datetime) and isinstance(value, date):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
