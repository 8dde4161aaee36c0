"""Google Calendar actions for agents: list the events of a day or range, create an event.

Both work in the calendar chosen in the user's settings (``calendar_id``, default the
primary calendar) and read dates in the calendar's time zone unless one is given.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core import Action, ActionParam, InvalidInput, parse_datetime, parse_event_end, parse_time_range, parse_time_zone
from plugins import google
from plugins.google_calendar.transport import resources

DEFAULT_RESULTS = 20
MAX_RESULTS = 50
DEFAULT_DURATION = 30
UPCOMING_DAYS = 7
DAY_WORDS = {"today": 0, "tomorrow": 1, "yesterday": -1, "aujourd'hui": 0, "demain": 1, "hier": -1}


def _zone(ctx, calendar_id: str, name: str | None) -> ZoneInfo:
    """``name`` as a time zone, else the calendar's own (one Calendar call)."""
    if not name:
        _, calendar_list, _ = resources(ctx.api_root)
        entry = google.execute(ctx.credentials, ctx.user.id, ctx.spec.key,
                               lambda: calendar_list.get(calendarId=calendar_id))
        name = entry.get("timeZone") or "UTC"
    return parse_time_zone(name)


def _day(value: str, zone: ZoneInfo) -> date:
    offset = DAY_WORDS.get(value.strip().lower())
    if offset is not None:
        return datetime.now(zone).date() + timedelta(days=offset)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("day must be an ISO date such as 2025-05-14, or today / tomorrow.", field="day") from None


def _window(day, start, end, zone) -> tuple[datetime, datetime]:
    if day:
        first = datetime.combine(_day(day, zone), time.min, zone)
        return first, first + timedelta(days=1)
    return parse_time_range(start, end, zone, days=UPCOMING_DAYS)


def _event(item: dict) -> dict:
    start, end = item.get("start", {}), item.get("end", {})
    return {"id": item["id"], "title": item.get("summary", "(no title)"),
            "start": start.get("dateTime") or start.get("date"), "end": end.get("dateTime") or end.get("date"),
            "all_day": "date" in start, "location": item.get("location"), "link": item.get("htmlLink")}


def list_events(ctx, day: str | None = None, start: str | None = None, end: str | None = None,
                timezone: str | None = None, query: str | None = None, max_results: int | None = None) -> dict:
    """The events of one day, or between ``start`` and ``end`` (default: the next seven days)."""
    calendar_id = ctx.settings.get("calendar_id") or "primary"
    zone = _zone(ctx, calendar_id, timezone)
    begin, finish = _window(day, start, end, zone)
    limit = max_results or DEFAULT_RESULTS
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}.", field="max_results")
    events, _, _ = resources(ctx.api_root)
    filters = {"q": query} if query else {}
    answer = google.execute(ctx.credentials, ctx.user.id, ctx.spec.key, lambda: events.list(
        calendarId=calendar_id, timeMin=begin.isoformat(), timeMax=finish.isoformat(), singleEvents=True,
        orderBy="startTime", maxResults=limit, **filters))
    items = [_event(item) for item in answer.get("items", []) if item.get("status") != "cancelled"]
    return {"calendar_id": calendar_id, "time_zone": zone.key, "from": begin.isoformat(), "to": finish.isoformat(),
            "count": len(items), "more": bool(answer.get("nextPageToken")), "events": items}


def create_event(ctx, title: str, start: str, end: str | None = None, duration_minutes: int | None = None,
                 timezone: str | None = None, location: str | None = None, description: str | None = None) -> dict:
    """Create an event titled ``title`` at ``start``, ending at ``end`` or after ``duration_minutes``."""
    if not title.strip():
        raise InvalidInput("title must not be empty.", field="title")
    calendar_id = ctx.settings.get("calendar_id") or "primary"
    zone = _zone(ctx, calendar_id, timezone)
    begin = parse_datetime("start", start, zone)
    finish = parse_event_end(begin, end, duration_minutes, zone, default_minutes=DEFAULT_DURATION)
    body = {"summary": title.strip(), "location": location, "description": description,
            "start": {"dateTime": begin.isoformat(), "timeZone": zone.key},
            "end": {"dateTime": finish.isoformat(), "timeZone": zone.key}}
    events, _, _ = resources(ctx.api_root)
    created = google.execute(ctx.credentials, ctx.user.id, ctx.spec.key, lambda: events.insert(
        calendarId=calendar_id, body={k: v for k, v in body.items() if v is not None}))
    return {"calendar_id": calendar_id, **_event(created)}


_TIMEZONE = ActionParam("timezone", "string", "IANA time zone such as Europe/Paris; default: the calendar's.",
                        required=False)

ACTIONS = (
    Action(
        name="list_events",
        description="List the events of the user's calendar on one day (day) or between start and end; "
                    "with neither, the next seven days.",
        run=list_events,
        params=(
            ActionParam("day", "string", "One day as an ISO date (2025-05-14), or today / tomorrow.", required=False),
            ActionParam("start", "string", "Start of the range, ISO date-time (2025-05-14T09:00).", required=False),
            ActionParam("end", "string", "End of the range, ISO date-time.", required=False),
            _TIMEZONE,
            ActionParam("query", "string", "Only events whose title, description or place contains these words.",
                        required=False),
            ActionParam("max_results", "integer", f"At most how many events, 1 to {MAX_RESULTS} "
                        f"(default {DEFAULT_RESULTS}).", required=False),
        ),
    ),
    Action(
        name="create_event",
        description="Create an event in the user's calendar. Confirm title, day and time with the user first.",
        run=create_event,
        params=(
            ActionParam("title", "string", "The event's title."),
            ActionParam("start", "string", "When it starts, ISO date-time (2025-05-14T09:30)."),
            ActionParam("end", "string", "When it ends, ISO date-time; or give duration_minutes.", required=False),
            ActionParam("duration_minutes", "integer", f"Length in minutes when end is not given "
                        f"(default {DEFAULT_DURATION}).", required=False),
            _TIMEZONE,
            ActionParam("location", "string", "Where it takes place.", required=False),
            ActionParam("description", "string", "Notes for the event.", required=False),
        ),
    ),
)
