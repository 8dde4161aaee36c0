"""Booking tools for the agent: ``find_free_slots`` and a conflict-aware ``create_appointment``.

They work on the user's own availability (busy times of every connected calendar plugin and
their appointments), whatever calendar is connected: core names no provider.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core import appointments, availability
from core.errors import ConnectorError
from core.spec import Action, ActionParam

MAX_RANGE = timedelta(days=31)
MAX_SLOTS = 20
ZONE_HELP = "IANA time zone of the user, e.g. Europe/Paris (default UTC)."


def _zone(name: str | None) -> ZoneInfo:
    name = name or "UTC"
    if name not in appointments.zone_names():
        raise ConnectorError(f"{name!r} is not an IANA time zone name (e.g. 'Europe/Paris').",
                             code="invalid_input", field="timezone")
    return ZoneInfo(name)


def _moment(field: str, value: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date-time; without an offset it is read in ``zone``."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConnectorError(f"{field!r} must be an ISO 8601 date-time, e.g. 2030-05-07T14:00:00+02:00.",
                             code="invalid_input", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _duration(minutes: int | None) -> timedelta:
    if minutes is None or not 5 <= minutes <= 480:
        raise ConnectorError("duration_minutes must be between 5 and 480.", code="invalid_input",
                             field="duration_minutes")
    return timedelta(minutes=minutes)


def _intervals(pairs, zone: ZoneInfo) -> list[dict]:
    return [{"start": s.astimezone(zone).isoformat(), "end": e.astimezone(zone).isoformat()} for s, e in pairs]


def find_free_slots(call, **arguments) -> dict:
    """Free slots of ``duration_minutes`` between ``from`` and ``to``, within working hours (09:00–18:00)."""
    zone = _zone(arguments.get("timezone"))
    duration = _duration(arguments["duration_minutes"])
    start, end = _moment("from", arguments["from"], zone), _moment("to", arguments["to"], zone)
    if end <= start or end - start > MAX_RANGE:
        raise ConnectorError("'to' must be after 'from', at most 31 days later.", code="invalid_input", field="to")
    known = availability.busy_for(call.registry, call.session, call.user.id, start, end)
    slots = availability.free_slots(known.busy, start, end, duration,
                                    availability.WorkingHours(zone, time(9), time(18)), limit=MAX_SLOTS)
    return {"free": _intervals(slots, zone), "busy": _intervals(known.busy, zone),
            "notices": [n.message for n in known.notices]}


def create_appointment(call, title: str, start: str, duration_minutes: int, timezone: str | None = None,
                       location: str | None = None, allow_conflict: bool | None = None) -> dict:
    """Book an appointment for the user; a busy time answers ``conflict`` with the next free slots."""
    zone = _zone(timezone)
    starts_at = _moment("start", start, zone)
    ends_at = starts_at + _duration(duration_minutes)
    if not allow_conflict:
        busy = availability.conflicts(call.registry, call.session, call.user.id, starts_at, ends_at)
        if busy:
            hours = availability.WorkingHours(zone, time(9), time(18))
            offers = availability.next_free(call.registry, call.session, call.user.id, ends_at,
                                            ends_at - starts_at, hours)
            raise ConnectorError("The user is busy at that time. Offer one of the next free slots, or book "
                                 "anyway with allow_conflict if the user insists.", code="conflict",
                                 busy=_intervals(busy, zone), next_free=_intervals(offers, zone))
    values = {"title": title, "starts_at": starts_at, "ends_at": ends_at, "timezone": zone.key, "location": location}
    try:
        made = appointments.create(call.session, call.registry, call.user, values)
    except appointments.InvalidAppointment as exc:
        call.session.rollback()
        raise ConnectorError(exc.message, code="invalid_input", field=exc.field) from None
    call.session.commit()
    return {"id": made.id, "title": made.title, "start": made.starts_at.astimezone(zone).isoformat(),
            "end": made.ends_at.astimezone(zone).isoformat(), "timezone": zone.key}


ACTIONS = (
    Action("find_free_slots", "Find free slots in the user's calendars (busy times and appointments) of a given "
           "length between two instants, within working hours 09:00-18:00 on weekdays.", find_free_slots, (
               ActionParam("duration_minutes", "integer", "Length of the slot in minutes (5-480)."),
               ActionParam("from", "string", "Start of the search, ISO 8601 (e.g. 2030-05-07T12:00:00+02:00)."),
               ActionParam("to", "string", "End of the search, ISO 8601, at most 31 days after 'from'."),
               ActionParam("timezone", "string", ZONE_HELP, required=False))),
    Action("create_appointment", "Book an appointment for the user in Cassius (it syncs to their calendar). "
           "Refuses a time when the user is busy and proposes the next free slots, unless allow_conflict is true.",
           create_appointment, (
               ActionParam("title", "string", "What the appointment is, e.g. 'Consultation Dupont'."),
               ActionParam("start", "string", "Start, ISO 8601 (e.g. 2030-05-07T14:00:00+02:00)."),
               ActionParam("duration_minutes", "integer", "Length in minutes (5-480)."),
               ActionParam("timezone", "string", ZONE_HELP, required=False),
               ActionParam("location", "string", "Where it takes place.", required=False),
               ActionParam("allow_conflict", "boolean", "Book even if the user is busy then (only when the user "
                           "explicitly insists).", required=False))),
)
