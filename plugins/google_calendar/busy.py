"""Busy times from Google Calendar (``freebusy.query``), kept in a per-user cache.

The calendars that count are the sync target plus the ones the user ticks as "count as busy"
(setting ``busy_calendar_ids``). Reads come from the cache (Redis when ``REDIS_URL`` is set,
else the process's memory); a miss, a stale entry or a window the entry does not cover costs
one ``freebusy.query`` covering at least a week, for every calendar at once. A push
notification forgets the entry; a change of calendars makes it miss. With sync switched off,
no call is made (and no busy time read) for the user.

Reading busy times needs the ``calendar.freebusy`` scope (only "see your availability"), asked
since Phase B: a connection made before it answers ``reconnect_required`` and syncing goes on.
"""
from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select

from core import (N_, BusyCache, BusyTimes, ConnectorError, UserConnector, UserConnectorCredential, current_platform,
                  gettext)
from plugins import google
from plugins.google_calendar import links

FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
#: A cached entry is trusted this long when no push notification says otherwise.
TTL = 300
#: A fetch covers at least this much, so a week's questions cost one call.
MIN_WINDOW = timedelta(days=7)
#: Google refuses longer ``freebusy.query`` windows.
MAX_WINDOW = timedelta(days=60)
MAX_CALENDARS = 10
PREFIX = "connectors:google_calendar:busy:"
RECONNECT = N_("Reconnect Google Calendar to enable availability.")
CALLABLE = ("active", "error")


@functools.lru_cache(maxsize=8)
def _freebusy(api_root: str | None):
    return google.service("calendar", "v3", api_root).freebusy()


def busy_calendars(settings: dict) -> list[str]:
    """The calendars whose events count as busy: the sync target and the ticked ones.

    ``busy_calendar_ids`` is a list (a comma-separated string in settings saved before it was one).
    """
    ticked = settings.get("busy_calendar_ids") or []
    if isinstance(ticked, str):
        ticked = ticked.split(",")
    ticked = [c.strip() for c in ticked if isinstance(c, str) and c.strip()]
    return list(dict.fromkeys([settings.get("calendar_id") or "primary", *ticked]))[:MAX_CALENDARS]


def cache() -> BusyCache:
    """The app's busy cache."""
    platform = current_platform()
    return platform.shared("google_calendar.busy", lambda: BusyCache(platform.redis, prefix=PREFIX, ttl=TTL))


#: The user's connection and granted scopes: one read per question, compiled once (SQLAlchemy's cache).
_CONNECTION = select(UserConnector.status, UserConnector.settings_json, UserConnectorCredential.scopes).outerjoin(
    UserConnectorCredential, (UserConnectorCredential.user_id == UserConnector.user_id)
    & (UserConnectorCredential.connector_code == bindparam("key"))).where(
    UserConnector.user_id == bindparam("user_id"), UserConnector.connector_code == bindparam("key"))


def busy_intervals(user_id: int, start: datetime, end: datetime) -> BusyTimes | None:
    """``user_id``'s Google busy times in ``[start, end)``; None when Google Calendar is not connected."""
    found = current_platform().db.rows(_CONNECTION, {"user_id": user_id, "key": links.KEY})
    if not found or found[0][0] not in CALLABLE:
        return None
    _status, settings_json, scopes = found[0]
    settings = links.settings(UserConnector(settings_json=settings_json))
    if not settings["sync_enabled"]:
        return None  # sync switched off: Cassius makes no Google call for this user
    if FREEBUSY_SCOPE not in (scopes or "").split():
        return BusyTimes(links.KEY, notice="reconnect_required", message=gettext(RECONNECT))
    calendars = busy_calendars(settings)
    entry = cache().get(user_id)
    if not _covers(entry, calendars, start, end):
        try:
            entry = fetch(user_id, calendars, start, end)
        except ConnectorError as exc:
            return BusyTimes(links.KEY, notice="unavailable", message=gettext(
                "Google Calendar busy times could not be read: %(error)s", error=exc.message))
        cache().put(user_id, entry)
    intervals = tuple((s, e) for s, e in (_instants(pair) for pair in entry["busy"]) if s < end and e > start)
    return BusyTimes(links.KEY, intervals)


def _covers(entry: dict | None, calendars: list[str], start: datetime, end: datetime) -> bool:
    return (entry is not None and entry["calendars"] == calendars and time.time() - entry["fetched"] < TTL
            and entry["from"] <= start.timestamp() and end.timestamp() <= entry["to"])


def _instants(pair) -> tuple[datetime, datetime]:
    return datetime.fromtimestamp(pair[0], UTC), datetime.fromtimestamp(pair[1], UTC)


def fetch(user_id: int, calendars: list[str], start: datetime, end: datetime) -> dict:
    """One ``freebusy.query`` for ``calendars`` over a window of at least a week around ``[start, end)``."""
    from plugins.google_calendar.calendars import api_root

    window_start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window_end = min(max(end, window_start + MIN_WINDOW), window_start + MAX_WINDOW)
    body = {"timeMin": window_start.isoformat(), "timeMax": window_end.isoformat(),
            "items": [{"id": calendar_id} for calendar_id in calendars]}
    resource = _freebusy(api_root())
    answer = google.execute(current_platform().credentials, user_id, links.KEY,
                            lambda: resource.query(body=body))
    busy = []
    for calendar in (answer.get("calendars") or {}).values():
        for span in calendar.get("busy", []):
            busy.append([datetime.fromisoformat(span["start"]).timestamp(),
                         datetime.fromisoformat(span["end"]).timestamp()])
    return {"calendars": calendars, "from": window_start.timestamp(), "to": window_end.timestamp(),
            "fetched": time.time(), "busy": sorted(busy)}


def status_details(session, user_id: int) -> dict:
    """``availability``: ``enabled``, or ``reconnect_required`` for a connection without the scope."""
    scopes = session.scalar(select(UserConnectorCredential.scopes).where(
        UserConnectorCredential.user_id == user_id, UserConnectorCredential.connector_code == links.KEY))
    if scopes is None:
        return {}
    if FREEBUSY_SCOPE in scopes.split():
        return {"availability": "enabled"}
    return {"availability": "reconnect_required", "availability_message": gettext(RECONNECT)}
