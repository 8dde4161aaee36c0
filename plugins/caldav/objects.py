"""Conditional writes of one calendar object (RFC 4791 §5.3.2, RFC 9110 §13): create, update, delete.

* **create** sends ``If-None-Match: *``: the object URL comes from a deterministic UID, so a
  create retried after a lost answer gets 412 instead of making a second event; the 412 is
  settled by reading the object and, when it is ours, updating it with its ETag.
* **update** sends ``If-Match`` with the stored ETag. A 412 means someone edited the event on
  the server: we read it (and its new ETag) and write our version over it — the appointment is
  the source of truth. A 404 means it was deleted there: it is created again.
* **delete** sends ``If-Match`` too; 404 and 410 mean it is already gone, which is what we
  wanted; a 412 is settled like an update's.

Each returns the object's new ETag (None when gone or when the server did not send one).
Permanent refusals raise :class:`Refused`; 429/503 raise :class:`core.RateLimited`, other 5xx
and network failures :class:`core.ConnectorError` (both worth retrying).
"""
from __future__ import annotations

import caldav

from core import ConnectorError
from plugins.caldav import ical
from plugins.caldav.client import translated

ICAL = {"Content-Type": "text/calendar; charset=utf-8"}
GONE = (404, 410)
MAX_RECONCILE = 3


class Refused(ConnectorError):
    """The server refused this object for good (a 4xx that no retry will change)."""

    code = "invalid_input"
    http_status = 422


class NotOurs(Refused):
    """The object at our URL was not written by us for this appointment: we leave it alone."""


class CalendarMissing(Refused):
    """The calendar itself is gone (deleted, or no longer shared): no event can be written to it."""

    code = "not_found"
    http_status = 404


def _check(response, action: str):
    """``response`` when it succeeded or is a precondition/absence answer the caller settles."""
    if response.status < 300 or response.status in (412, *GONE):
        return response
    if response.status >= 500:
        raise ConnectorError(f"The CalDAV server failed to {action} the event ({response.status}); retrying.")
    raise Refused(f"The CalDAV server refused to {action} the event ({response.status}).", status=response.status)


def _etag(response) -> str | None:
    value = response.headers.get("ETag")
    return value if value and not value.startswith("W/") else None


@translated()
def read(client: caldav.DAVClient, url: str) -> tuple[str | None, str | None]:
    """The object's iCalendar text and ETag, or ``(None, None)`` when it is gone."""
    response = _check(client.request(url, "GET", headers={"Accept": "text/calendar"}), "read")
    if response.status in GONE:
        return None, None
    return response.raw, _etag(response)


def _settle(client, url: str, body: str, ours: dict[str, str], depth: int) -> str | None:
    """After a 412: read what is there; if it is ours, write ``body`` over that version."""
    text, etag = read(client, url)
    if text is None:
        return create(client, url, body, ours, depth + 1)
    if not ical.carries(ical.first_event(text), ours):
        raise NotOurs("Another event already uses this appointment's address in the calendar.")
    return update(client, url, body, etag, ours, depth + 1)


def _guard(depth: int) -> None:
    if depth >= MAX_RECONCILE:
        raise ConnectorError("The CalDAV server kept changing this event while we wrote it; retrying.")


@translated()
def create(client: caldav.DAVClient, url: str, body: str, ours: dict[str, str], depth: int = 0) -> str | None:
    """PUT a new object with ``If-None-Match: *``; an existing one of ours is updated instead."""
    _guard(depth)
    response = client.put(url, body, {**ICAL, "If-None-Match": "*"})
    if response.status in (*GONE, 409):  # RFC 4918 §9.7.1: 409 when the collection does not exist
        raise CalendarMissing("The chosen CalDAV calendar was not found; pick another calendar.")
    if _check(response, "create").status == 412:
        return _settle(client, url, body, ours, depth)
    return _etag(response)


@translated()
def update(client: caldav.DAVClient, url: str, body: str, etag: str | None, ours: dict[str, str],
           depth: int = 0) -> str | None:
    """PUT over the version ``etag``; a 412 is reconciled, a 404 creates the object again."""
    _guard(depth)
    if etag is None:
        return _settle(client, url, body, ours, depth)
    response = _check(client.put(url, body, {**ICAL, "If-Match": etag}), "update")
    if response.status == 412:
        return _settle(client, url, body, ours, depth)
    if response.status in GONE:
        return create(client, url, body, ours, depth + 1)
    return _etag(response)


@translated()
def delete(client: caldav.DAVClient, url: str, etag: str | None, ours: dict[str, str], depth: int = 0) -> None:
    """DELETE the version ``etag`` (404/410: already gone); a 412 reads the new version first."""
    _guard(depth)
    if etag is None:
        text, etag = read(client, url)
        if text is None:
            return
        if not ical.carries(ical.first_event(text), ours):
            raise NotOurs("The event at this appointment's address was not written by us; it is left alone.")
    response = _check(client.delete(url, {"If-Match": etag}), "delete")
    if response.status == 412:
        delete(client, url, None, ours, depth + 1)
