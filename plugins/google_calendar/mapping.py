"""How an appointment looks in Google Calendar: its deterministic event id and its event body."""
from __future__ import annotations

import base64
import hashlib
from zoneinfo import ZoneInfo

ID_PREFIX = "connectors:google_calendar:link"


def event_id(link_id: int, appointment_id: int) -> str:
    """A client-chosen event id for a link: 32 base32hex characters (``a-v0-9``), always the same.

    Inserting with it twice can never make two events: Google answers 409 the second time.
    """
    digest = hashlib.sha256(f"{ID_PREFIX}:{link_id}:{appointment_id}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower()


def private_properties(link_id: int, appointment_id: int, org_id: str) -> dict:
    """Our ids, stored in ``extendedProperties.private`` of the event."""
    return {"connectors_link_id": str(link_id), "connectors_appointment_id": str(appointment_id),
            "connectors_org_id": org_id}


def is_ours(event: dict, link_id: int, appointment_id: int, org_id: str) -> bool:
    """True when ``event`` carries this link's ids (so a 409 found our own earlier insert)."""
    found = (event.get("extendedProperties") or {}).get("private") or {}
    return all(found.get(k) == v for k, v in private_properties(link_id, appointment_id, org_id).items())


def event_body(appointment, link_id: int) -> dict:
    """The fields we own in the Google event (sent whole on insert and patch; ``None`` clears)."""
    zone = ZoneInfo(appointment.timezone)
    return {
        "summary": appointment.title,
        "location": appointment.location,
        "description": appointment.notes,
        "start": {"dateTime": appointment.starts_at.astimezone(zone).isoformat(), "timeZone": appointment.timezone},
        "end": {"dateTime": appointment.ends_at.astimezone(zone).isoformat(), "timeZone": appointment.timezone},
        "status": "confirmed",
        "extendedProperties": {"private": private_properties(link_id, appointment.id, appointment.org_id)},
    }
