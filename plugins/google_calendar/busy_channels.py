"""Push channels on the calendars a user ticks as "count as busy", so a change there forgets their busy cache.

The sync target has its own channel (:mod:`channels`), whose notifications also pull changes.
A ticked calendar only needs its busy times read again: its notification forgets the user's
busy cache, nothing more. :func:`watch_busy` makes the user's channels match their ticked
calendars — opening the missing ones, stopping those of calendars no longer ticked, replacing
those that expire within ``RENEW_BEFORE``. Without a push address (development), or when Google
refuses a watch (a calendar shared with free/busy access only), the calendar has no channel and
its busy times are read again when the cached entry ages out (``busy.TTL``).
"""
from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select

from core import ConnectorError, current_platform, enqueue_after_commit, utcnow
from plugins.google_calendar import busy, links
from plugins.google_calendar.channels import RENEW_BEFORE, caller_for, push_address, stop, token_hash
from plugins.google_calendar.state import BusyChannel

log = logging.getLogger(__name__)


def wanted(session, user_id: int) -> set[str]:
    """The ticked calendars to watch: none when no call may be made for the user, never the sync target."""
    target = links.target(session, user_id)
    if target is None:
        return set()
    row = links.connector_row(session, user_id)  # the primary calendar's id is the account's address
    return set(busy.busy_calendars(links.settings(row))) - {target, "primary", row.account_label}


def watch_busy(user_id: int) -> dict:
    """RQ job: open, renew and stop the user's channels on their "count as busy" calendars; returns counts."""
    platform = current_platform()
    db = platform.db
    with db.session_scope() as session:
        calendars = wanted(session, user_id)
        held = [(c.channel_id, c.resource_id, c.calendar_id, c.expires_at) for c in session.scalars(
            select(BusyChannel).where(BusyChannel.user_id == user_id))]
    address = push_address(platform.config)
    soon = utcnow() + RENEW_BEFORE
    keep = {calendar for _, _, calendar, expires in held if calendar in calendars and expires > soon}
    retire = [(channel, resource) for channel, resource, calendar, _ in held if calendar not in keep]
    opened = []
    if address is not None:
        for calendar_id in sorted(calendars - keep):
            channel = _open(platform, user_id, calendar_id, address)
            if channel is not None:
                opened.append(channel)
    with db.session_scope() as session:
        if retire:
            session.execute(delete(BusyChannel).where(BusyChannel.channel_id.in_([c for c, _ in retire])))
        session.add_all(opened)
    for channel_id, resource_id in retire:
        stop(user_id, channel_id, resource_id)
    return {"opened": len(opened), "stopped": len(retire)}


def _open(platform, user_id: int, calendar_id: str, address: str) -> BusyChannel | None:
    token = secrets.token_urlsafe(32)
    body = {"id": uuid.uuid4().hex, "type": "web_hook", "address": address, "token": token}
    try:
        caller = caller_for(platform, user_id)
        [(answer, error)] = caller.run([caller.events.watch(calendarId=calendar_id, body=body)])
    except ConnectorError as exc:
        answer, error = None, exc
    if error is not None:
        log.info("Google refused a channel on a busy calendar of user %s: its busy times age out instead", user_id)
        return None
    return BusyChannel(channel_id=answer["id"], user_id=user_id, calendar_id=calendar_id,
                       resource_id=answer["resourceId"], token_hash=token_hash(token),
                       expires_at=datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC))


def find(session, channel_id: str) -> BusyChannel | None:
    """The busy-calendar channel ``channel_id``, if it is one."""
    return session.get(BusyChannel, channel_id)


def connection_changed(event, session) -> None:
    """Watch on connecting or when the ticked calendars, the target or sync change; forget on disconnect."""
    if event.name == "connector.connected":
        enqueue_after_commit(session, watch_busy, event.user_id)
    elif event.name == "connector.settings_changed":
        before, after = event.data["before"], event.data["after"]
        if any(before.get(name) != after.get(name) for name in ("busy_calendar_ids", "calendar_id", "sync_enabled")):
            enqueue_after_commit(session, watch_busy, event.user_id)
    elif event.name == "connector.revoked":
        session.execute(delete(BusyChannel).where(BusyChannel.user_id == event.user_id))


def stop_now(session, user_id: int) -> None:
    """Stop every busy-calendar channel of the user right away (before a disconnect revokes the grant)."""
    for channel in session.scalars(select(BusyChannel).where(BusyChannel.user_id == user_id)).all():
        stop(user_id, channel.channel_id, channel.resource_id)
        session.delete(channel)


def due(session) -> list[int]:
    """Users with a busy-calendar channel expiring within ``RENEW_BEFORE``."""
    return list(session.scalars(select(BusyChannel.user_id).where(
        BusyChannel.expires_at < utcnow() + RENEW_BEFORE).distinct()))
