"""How an event looks in a CalDAV calendar: a VCALENDAR with one VEVENT, built and read with `icalendar`.

An appointment's event has a deterministic UID (so its object URL, ``<calendar>/<uid>.ics``, is
always the same and a retried create can never make a second event) and carries our ids in
``X-CONNECTORS-*`` properties. Times are written in UTC (RFC 5545 §3.3.5, form 2), which every
server and client reads alike: calendar apps show them in the user's own zone. (A VTIMEZONE is
the other choice; the RDATE-based ones `icalendar` generates are misread by vobject-based
servers such as Radicale, whose time-range and free-busy queries then come out an hour off.)
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import icalendar

PRODID = "-//Connector platform//CalDAV connector//FR"
UID_NAMESPACE = uuid.UUID("1b671a64-40d5-491e-99b0-da01ff1f3341")
UID_DOMAIN = "connectors.invalid"
#: Our ids on an event, as X- properties (RFC 5545 §3.8.8.2).
X_LINK = "X-CONNECTORS-LINK-ID"
X_APPOINTMENT = "X-CONNECTORS-APPOINTMENT-ID"
X_ORG = "X-CONNECTORS-ORG-ID"


def appointment_uid(org_id: str, appointment_id: int) -> str:
    """The UID of an appointment's event: always the same for the same appointment."""
    return f"{uuid.uuid5(UID_NAMESPACE, f'appointment:{org_id}:{appointment_id}')}@{UID_DOMAIN}"


def random_uid() -> str:
    """A fresh UID for an event an agent creates."""
    return f"{uuid.uuid4()}@{UID_DOMAIN}"


def object_name(uid: str) -> str:
    """The file name of the event's object in its calendar (``<safe uid>.ics``)."""
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in uid)
    if safe != uid:
        safe += "-" + hashlib.sha256(uid.encode()).hexdigest()[:8]
    return safe + ".ics"


@dataclass(frozen=True)
class EventData:
    """What we write into one VEVENT."""

    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None = None
    notes: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


def to_ical(event: EventData, stamp: datetime | None = None) -> str:
    """The iCalendar text of ``event``, its times in UTC."""
    import icalendar  # imported where used: not paid by every process start

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    vevent.add("dtstart", event.starts_at.astimezone(UTC))
    vevent.add("dtend", event.ends_at.astimezone(UTC))
    vevent.add("summary", event.title)
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    if event.location:
        vevent.add("location", event.location)
    if event.notes:
        vevent.add("description", event.notes)
    for name, value in event.properties.items():
        vevent.add(name, value)
    calendar.add_component(vevent)
    return calendar.to_ical().decode()


def first_event(text: str | bytes) -> icalendar.Event | None:
    """The first VEVENT of an iCalendar object, or None when it has none or does not parse."""
    import icalendar

    try:
        parsed = icalendar.Calendar.from_ical(text)
    except ValueError:
        return None
    return next(iter(parsed.walk("VEVENT")), None)


def carries(vevent: icalendar.Event | None, properties: dict[str, str]) -> bool:
    """Whether ``vevent`` carries every one of our ``properties`` (it is the event we wrote)."""
    return vevent is not None and all(str(vevent.get(name, "")) == value for name, value in properties.items())


def _moment(value, zone: ZoneInfo) -> str | None:
    """An iCalendar date-time as ISO 8601 in ``zone`` (an all-day date stays a date)."""
    if value is None:
        return None
    moment = value.dt
    if isinstance(moment, datetime):
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(zone)
    return moment.isoformat()


def summary(vevent: icalendar.Event, zone: ZoneInfo) -> dict:
    """What an agent sees of one event: uid, title, start and end in ``zone``, location, status."""
    return {
        "uid": str(vevent.get("uid", "")),
        "title": str(vevent.get("summary", "")),
        "start": _moment(vevent.get("dtstart"), zone),
        "end": _moment(vevent.get("dtend"), zone),
        "location": str(vevent["location"]) if vevent.get("location") else None,
        "status": str(vevent.get("status", "CONFIRMED")).lower(),
    }
