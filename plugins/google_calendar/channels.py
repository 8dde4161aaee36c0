"""Push channels (``events.watch``) on each user's sync target, renewed before they expire, and polling without them.

A channel is opened when the user connects or picks another calendar, with a random token
Google echoes in every notification (only its SHA-256 is stored). It is renewed by the
periodic job (:func:`due`) ``RENEW_BEFORE`` ahead of the ``expiration`` Google returned, and
stopped with ``channels.stop`` when the user picks another calendar, switches sync off or
disconnects. Without a public HTTPS address (development), or when Google refuses the watch,
the user's calendar is polled instead every ``POLL_EVERY`` seconds, with jitter.
"""
from __future__ import annotations

import hashlib
import logging
import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select

from core import ConnectorError, current_platform, enqueue_after_commit, utcnow
from plugins.google_calendar import links
from plugins.google_calendar.changes import pull_changes
from plugins.google_calendar.state import SyncState
from plugins.google_calendar.transport import Caller

log = logging.getLogger(__name__)

PATH = "/api/v1/connectors/google_calendar/notifications"
RENEW_BEFORE = timedelta(hours=12)
POLL_EVERY = 300.0
ADDRESS_VARIABLE = "GOOGLE_CALENDAR_PUSH_ADDRESS"


def token_hash(token: str) -> str:
    """What is stored of a channel token."""
    return hashlib.sha256(token.encode()).hexdigest()


def push_address(config) -> str | None:
    """Where Google should send notifications, or None to poll instead.

    ``GOOGLE_CALENDAR_PUSH_ADDRESS`` when set (a tunnel in development, a fake in tests), else
    ``BACKEND_URL`` + the notifications path when it is HTTPS (Google refuses anything else).
    """
    explicit = config.environ.get(ADDRESS_VARIABLE, "").strip()
    if explicit:
        return explicit
    address = (config.backend_url or config.app_base_url or "").rstrip("/") + PATH
    return address if urlsplit(address).scheme == "https" else None


def next_poll(now: datetime | None = None) -> datetime:
    """When to poll next: ``POLL_EVERY`` seconds from now, give or take 20 %, so users spread out."""
    return (now or utcnow()) + timedelta(seconds=POLL_EVERY * random.uniform(0.8, 1.2))


def caller_for(platform, user_id: int) -> Caller:
    """A Calendar caller for the user (one transport: not to be shared between threads)."""
    from plugins.google_calendar.calendars import api_root

    return Caller(platform.credentials, user_id, api_root())


def watch(user_id: int) -> None:
    """RQ job: open a channel on the user's target (stopping the one it replaces), or fall back to polling."""
    platform = current_platform()
    db = platform.db
    with db.session_scope() as session:
        calendar_id = links.target(session, user_id)
        state = session.get(SyncState, user_id)
        old = (state.channel_id, state.channel_resource_id) if state is not None and state.channel_id else None
    if calendar_id is None:
        return
    address = push_address(platform.config)
    opened = None
    if address is not None:
        token = secrets.token_urlsafe(32)
        body = {"id": uuid.uuid4().hex, "type": "web_hook", "address": address, "token": token}
        try:
            caller = caller_for(platform, user_id)
            [(answer, error)] = caller.run([caller.events.watch(calendarId=calendar_id, body=body)])
        except ConnectorError as exc:
            answer, error = None, exc
        if error is None:
            opened = (answer["id"], answer["resourceId"], token_hash(token),
                      datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC))
        else:
            log.info("Google refused a push channel for user %s: polling instead", user_id)
    with db.session_scope() as session:
        state = session.get(SyncState, user_id) or SyncState(user_id=user_id, calendar_id=calendar_id)
        if state.calendar_id != calendar_id:
            state.sync_token = None
        state.calendar_id = calendar_id
        state.channel_id, state.channel_resource_id, state.channel_token_hash, state.channel_expires_at = (
            opened or (None, None, None, None))
        state.next_poll_at = None if opened else next_poll()
        session.add(state)
    if old is not None:
        stop(user_id, *old)
    pull_changes(user_id)  # the first listing sets the sync token


def stop(user_id: int, channel_id: str, resource_id: str) -> None:
    """RQ job: ``channels.stop`` one channel (Google's 404 means it is already gone)."""
    try:
        caller = caller_for(current_platform(), user_id)
        caller.run([caller.channels.stop(body={"id": channel_id, "resourceId": resource_id})])
    except ConnectorError as exc:  # no token any more: the channel expires on its own, ignored meanwhile
        log.info("Could not stop channel of user %s (%s)", user_id, exc.code)


def connection_changed(event, session) -> None:
    """Open the channel on connecting; replace it when the calendar or sync changes; forget it on disconnect."""
    if event.name == "connector.connected":
        forget(session, event.user_id, stop_channel=False)  # a new grant: start reading back afresh
        enqueue_after_commit(session, watch, event.user_id)
    elif event.name == "connector.settings_changed":
        before, after = event.data["before"], event.data["after"]
        if before.get("calendar_id") != after.get("calendar_id") or before.get("sync_enabled") != after.get(
                "sync_enabled"):
            forget(session, event.user_id, stop_channel=True)
            if after.get("sync_enabled"):
                enqueue_after_commit(session, watch, event.user_id)
    elif event.name == "connector.revoked":
        forget(session, event.user_id, stop_channel=False)  # stopped by before_disconnect


def stop_now(session, user_id: int) -> None:
    """Stop the user's channel right away (before a disconnect revokes the grant) and forget it."""
    state = session.get(SyncState, user_id)
    if state is not None and state.channel_id:
        stop(user_id, state.channel_id, state.channel_resource_id)
        state.channel_id = state.channel_resource_id = state.channel_token_hash = state.channel_expires_at = None


def forget(session, user_id: int, *, stop_channel: bool) -> None:
    """Drop the user's channel and sync token (in this transaction); stop the channel after commit."""
    state = session.get(SyncState, user_id)
    if state is None:
        return
    if stop_channel and state.channel_id:
        enqueue_after_commit(session, stop, user_id, state.channel_id, state.channel_resource_id)
    session.delete(state)


def due(session) -> tuple[list[int], list[int]]:
    """``(users whose channel expires within RENEW_BEFORE, users due for polling)``, among those who may sync."""
    now = utcnow()
    rows = session.execute(select(SyncState.user_id, SyncState.channel_id, SyncState.channel_expires_at,
                                  SyncState.next_poll_at).where(or_(
        SyncState.channel_expires_at < now + RENEW_BEFORE, SyncState.next_poll_at <= now))).all()
    callable_users = {uid for uid in (row[0] for row in rows) if links.target(session, uid) is not None}
    renew = [uid for uid, channel, expires, _ in rows
             if uid in callable_users and channel and expires is not None and expires < now + RENEW_BEFORE]
    poll = [uid for uid, channel, _, next_at in rows
            if uid in callable_users and not channel and next_at is not None and next_at <= now]
    for user_id in poll:
        session.get(SyncState, user_id).next_poll_at = next_poll(now)
    return renew, poll
