"""CalDAV actions for agents: list the events of a range, create an event.

Both work in the calendar chosen in the user's settings (``calendar_id``), else the account's
first calendar. Times given without an offset are read in ``timezone`` (default Europe/Paris).
"""
from __future__ import annotations

from core import (N_, Action, ActionParam, ConnectorError, InvalidInput, parse_datetime, parse_event_end,
                  parse_time_range, parse_time_zone)
from plugins.caldav import client, ical, objects

DEFAULT_ZONE = "Europe/Paris"
DEFAULT_DURATION = 30
UPCOMING_DAYS = 7
DEFAULT_RESULTS = 20
MAX_RESULTS = 50
MAX_TITLE = 500


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
    zone = parse_time_zone(timezone or DEFAULT_ZONE)
    begin, finish = parse_time_range(start, end, zone, days=UPCOMING_DAYS)
    limit = max_results or DEFAULT_RESULTS
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}.", field="max_results")
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
        raise InvalidInput(f"title must have 1 to {MAX_TITLE} characters.", field="title")
    zone = parse_time_zone(timezone or DEFAULT_ZONE)
    begin = parse_datetime("start", start, zone)
    finish = parse_event_end(begin, end, duration_minutes, zone, default_minutes=DEFAULT_DURATION)
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
