"""Times an agent gives an action: ISO 8601 date-times read in a time zone, a range, an event's end.

For actions taking ``start``, ``end``, ``timezone`` or ``duration_minutes`` arguments (listing or
creating a calendar's events). A bad argument raises :class:`core.errors.InvalidInput` naming
its field, in the words an agent can act on.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

#: The longest ``duration_minutes``: one day.
MAX_DURATION_MINUTES = 24 * 60


def parse_time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``); else ``InvalidInput`` on ``timezone``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not a time zone; use an IANA name such as Europe/Paris.",
                           field="timezone") from None


def parse_datetime(field: str, value: str, zone: ZoneInfo) -> datetime:
    """The ISO 8601 date-time ``value`` of argument ``field``; without an offset it is read in ``zone``."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field} must be an ISO date-time such as 2030-05-14T09:30.", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_time_range(start: str | None, end: str | None, zone: ZoneInfo, *, days: int = 7) -> tuple[datetime, datetime]:
    """The range from ``start`` (default now) to ``end`` (default ``days`` later); ``end`` must come after."""
    begin = parse_datetime("start", start, zone) if start else datetime.now(zone)
    finish = parse_datetime("end", end, zone) if end else begin + timedelta(days=days)
    return begin, _after(begin, finish)


def parse_event_end(begin: datetime, end: str | None, duration_minutes: int | None, zone: ZoneInfo, *,
                    default_minutes: int = 30) -> datetime:
    """When an event starting at ``begin`` ends: at ``end``, else after ``duration_minutes`` (1 to 1440,
    default ``default_minutes``); it must come after ``begin``."""
    if end:
        finish = parse_datetime("end", end, zone)
    elif duration_minutes is not None and not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(f"duration_minutes must be between 1 and {MAX_DURATION_MINUTES}.", field="duration_minutes")
    else:
        finish = begin + timedelta(minutes=duration_minutes or default_minutes)
    return _after(begin, finish)


def _after(begin: datetime, finish: datetime) -> datetime:
    if finish <= begin:
        raise InvalidInput("end must be after start.", field="end")
    return finish
