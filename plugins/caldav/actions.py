"""CalDAV actions for agents: list the events of a range, create an event.

Both work in the calendar chosen in the user's settings (``calendar_id``), else the account's
first calendar. Times given without an offset are read in ``timezone`` (default Europe/Paris).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import N_, Action, ActionParam, ConnectorError
from plugins.caldav import client, ical, objects

DEFAULT_ZONE = "Europe/Paris"
DEFAULT_DURATION = 30
UPCOMING_DAYS = 7
DEFAULT_RESULTS = 20
MAX_RESULTS = 50
MAX_TITLE = 500


def _invalid(field: str, message: str) -> ConnectorError:
    return ConnectorError(message, code="invalid_input", field=field)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid("timezone", f"{name!r} is not a time zone; use an IANA name such as Europe/Paris.") from None


def _moment(field: str, value: str, zone) -> datetime:
    """An ISO 8601 date-time; without an offset it is read in ``zone``."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(field, f"{field} must be an ISO date-time such as 2030-05-14T09:30.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _calendar_id(ctx, account: client.Account) -> str:
    """The chosen calendar's path, else the account's first calendar."""
    chosen = ctx.settings.get("calendar_id")
    if chosen:
        return chosen
    listed = client.calendars(account)
    if not listed:
        raise ConnectorError(N_("This CalDAV account has no calendar; create one first."), code="not_found")
    return listed[0]["id"]


def list_events(ctx, start: str | None = None, end: str | None = None, timezone: str | None = None,
                max_results: int | None = None) -> dict:
    """The events between ``start`` and ``end`` (default: the next seven days), earliest first."""
    zone = _zone(timezone)
    begin = _moment("start", start, zone) if start else datetime.now(zone)
    finish = _moment("end", end, zone) if end else begin + timedelta(days=UPCOMING_DAYS)
    if finish <= begin:
        raise _invalid("end", "end must be after start.")
    limit = max_results or DEFAULT_RESULTS
    if not 1 <= limit <= MAX_RESULTS:
        raise _invalid("max_results", f"max_results must be between 1 and {MAX_RESULTS}.")
    account = client.Account.from_values(ctx.config)
    calendar_id = _calendar_id(ctx, account)
    with client.connect(account) as dav:
        found = client.calendar(dav, account, calendar_id).search(start=begin, end=finish, event=True, expand=True)
        events = [ical.summary(e, zone) for obj in found for e in obj.icalendar_instance.walk("VEVENT")]
    events.sort(key=lambda e: e["start"] or "")
    return {"calendar_id": calendar_id, "time_zone": zone.key, "from": begin.isoformat(), "to": finish.isoformat(),
            "count": min(len(events), limit), "more": len(events) > limit, "events": events[:limit]}


def create_event(ctx, title: str, start: str, end: str | None = None, duration_minutes: int | None = None,
                 timezone: str | None = None, location: str | None = None, description: str | None = None) -> dict:
    """Create an event titled ``title`` at ``start``, ending at ``end`` or after ``duration_minutes``."""
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise _invalid("title", f"title must have 1 to {MAX_TITLE} characters.")
    zone = _zone(timezone)
    begin = _moment("start", start, zone)
    if end:
        finish = _moment("end", end, zone)
    elif duration_minutes is not None and not 1 <= duration_minutes <= 24 * 60:
        raise _invalid("duration_minutes", "duration_minutes must be between 1 and 1440.")
    else:
        finish = begin + timedelta(minutes=duration_minutes or DEFAULT_DURATION)
    if finish <= begin:
        raise _invalid("end", "end must be after start.")
    account = client.Account.from_values(ctx.config)
    calendar_id = _calendar_id(ctx, account)
    event = ical.EventData(ical.random_uid(), title, begin, finish, location, description)
    url = account.url_of(calendar_id) + ical.object_name(event.uid)
    with client.connect(account) as dav:
        objects.create(dav, url, ical.to_ical(event), {"UID": event.uid})
    return {"calendar_id": calendar_id, "uid": event.uid, "title": title, "start": begin.isoformat(),
            "end": finish.isoformat(), "location": location}


_TIMEZONE = ActionParam("timezone", "string", f"IANA time zone such as Europe/Paris (default {DEFAULT_ZONE}).",
                        required=False)

ACTIONS = (
    Action(
        name="list_events",
        description="List the events of the user's CalDAV calendar between start and end; "
                    "without them, the next seven days.",
        run=list_events,
        params=(
            ActionParam("start", "string", "Start of the range, ISO date-time (2030-05-14T09:00).", required=False),
            ActionParam("end", "string", "End of the range, ISO date-time.", required=False),
            _TIMEZONE,
            ActionParam("max_results", "integer", f"At most how many events, 1 to {MAX_RESULTS} "
                        f"(default {DEFAULT_RESULTS}).", required=False),
        ),
    ),
    Action(
        name="create_event",
        description="Create an event in the user's CalDAV calendar. Confirm title, day and time with the user first.",
        run=create_event,
        params=(
            ActionParam("title", "string", "The event's title."),
            ActionParam("start", "string", "When it starts, ISO date-time (2030-05-14T09:30)."),
            ActionParam("end", "string", "When it ends, ISO date-time; or give duration_minutes.", required=False),
            ActionParam("duration_minutes", "integer", f"Length in minutes when end is not given "
                        f"(default {DEFAULT_DURATION}).", required=False),
            _TIMEZONE,
            ActionParam("location", "string", "Where it takes place.", required=False),
            ActionParam("description", "string", "Notes for the event.", required=False),
        ),
    ),
)
