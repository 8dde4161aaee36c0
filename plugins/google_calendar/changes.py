"""Phase B: read the sync target back and notice what users change in Google.

:func:`pull_changes` lists the target calendar's events with the user's ``syncToken``
(``nextSyncToken`` of the last page; a 410 ``fullSyncRequired`` starts a full listing again).
Among them, an event we created (its ``extendedProperties.private`` carries the link's ids)
that Google now shows at other times, or deleted, while its link is ``synced``, is a change
made in Google: the link becomes ``changed_in_google`` with what changed, and the user
chooses — ``keep_google`` (the appointment follows; nothing is written back) or ``restore``
(Phase A pushes ours again). ``GOOGLE_CALENDAR_CHANGE_POLICY`` can make either automatic per
organization. Our own writes come back with the appointment's own times: they are ignored,
so nothing loops.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import delete, select

from core import (
    Appointment, ConnectorError, InvalidAppointment, LockTimeout, NeedsReauth, cancel_appointment, current_platform,
    enqueue_after_commit, update_appointment, utcnow,
)
from core import gettext
from plugins.google_calendar import links
from plugins.google_calendar.mapping import is_ours
from plugins.google_calendar.models import CalendarEventLink
from plugins.google_calendar.state import GoogleChange, SyncState
from plugins.google_calendar.transport import Caller

log = logging.getLogger(__name__)

CHANGED = "changed_in_google"
CHOICES = ("keep_google", "restore")
POLICIES = ("ask", *CHOICES)
POLICY_VARIABLE = "GOOGLE_CALENDAR_CHANGE_POLICY"
PAGE_SIZE = 250
MAX_PAGES = 200


def policy_for(org_id: str, config=None) -> str:
    """The organization's policy: ``ask`` (default), ``keep_google`` or ``restore``.

    ``GOOGLE_CALENDAR_CHANGE_POLICY`` is one policy for every organization, or
    ``org-a=keep_google,org-b=restore,*=ask`` per organization.
    """
    config = config or current_platform().config
    value = (config.environ.get(POLICY_VARIABLE) or "ask").strip()
    rules = dict(part.split("=", 1) if "=" in part else ("*", part) for part in value.split(",") if part.strip())
    chosen = rules.get(org_id, rules.get("*", "ask")).strip()
    return chosen if chosen in POLICIES else "ask"


def coalesce_key(user_id: int) -> str:
    """Pull jobs of one user wait in the queue one at a time."""
    return f"google_calendar:pull:{user_id}"


def pull_changes(user_id: int) -> dict | None:
    """RQ job: read the user's target calendar back since the last sync token; returns counts."""
    platform = current_platform()
    try:
        with platform.lock(coalesce_key(user_id), ttl=120, wait=30):
            return Pull(platform, user_id).run()
    except LockTimeout:
        log.info("Pull of user %s skipped: another one held the lock for 30 s", user_id)
        return None


class Pull:
    """One read-back of one user's target calendar."""

    def __init__(self, platform, user_id: int):
        self.platform, self.user_id = platform, user_id
        self.db = platform.db

    def run(self) -> dict | None:
        """List what changed since the sync token (or everything), then record it in one transaction."""
        with self.db.session_scope() as session:
            calendar_id = links.target(session, self.user_id)
            state = session.get(SyncState, self.user_id)
            token = state.sync_token if state is not None and state.calendar_id == calendar_id else None
        if calendar_id is None:
            return None
        try:
            events, next_token, full = self.list_events(calendar_id, token)
        except NeedsReauth:
            return None
        except ConnectorError as exc:
            log.info("Pull of user %s failed (%s); polling tries again", self.user_id, exc.code)
            return None
        with self.db.session_scope() as session:
            if links.target(session, self.user_id) != calendar_id:
                return None  # the user switched calendars meanwhile: this listing is not theirs any more
            counts = record(session, self.platform, self.user_id, calendar_id, events)
            state = session.get(SyncState, self.user_id) or SyncState(user_id=self.user_id, calendar_id=calendar_id)
            state.calendar_id, state.sync_token, state.pulled_at = calendar_id, next_token, utcnow()
            session.add(state)
        return {**counts, "events": len(events), "full_sync": full}

    def list_events(self, calendar_id: str, token: str | None) -> tuple[list[dict], str | None, bool]:
        """Every event changed since ``token`` (every event when None, or when Google answers 410)."""
        from plugins.google_calendar.calendars import api_root

        caller = Caller(self.platform.credentials, self.user_id, api_root())
        events, page = [], None
        for _ in range(MAX_PAGES):
            params = {"calendarId": calendar_id, "maxResults": PAGE_SIZE, "showDeleted": True}
            if token:
                params["syncToken"] = token
            if page:
                params["pageToken"] = page
            [(answer, error)] = caller.run([caller.events.list(**params)])
            if error is not None and error.resp.status == 410 and token:
                log.info("Sync token of user %s expired: full resync", self.user_id)
                return self.list_events(calendar_id, None)
            if error is not None:
                raise ConnectorError(gettext("Google answered %(status)s listing events.", status=error.resp.status),
                                     code="provider_error")
            events.extend(answer.get("items", []))
            page = answer.get("nextPageToken")
            if not page:
                return events, answer.get("nextSyncToken"), token is None
        raise ConnectorError(gettext("Too many pages of events."), code="provider_error")


def _instant(when: dict | None) -> datetime | None:
    if not when or "dateTime" not in when:
        return None
    return datetime.fromisoformat(when["dateTime"]).astimezone(UTC)


def record(session, platform, user_id: int, calendar_id: str, events: list[dict]) -> dict:
    """Mark the links whose events were moved or deleted in Google; apply the organization's policy."""
    ours = {}
    for event in events:
        link_id = ((event.get("extendedProperties") or {}).get("private") or {}).get("connectors_link_id", "")
        if link_id.isdigit():
            ours[int(link_id)] = event
    if not ours:
        return {"changed": 0}
    rows = session.execute(select(CalendarEventLink, Appointment).join(
        Appointment, Appointment.id == CalendarEventLink.appointment_id).where(
        CalendarEventLink.id.in_(ours), CalendarEventLink.user_id == user_id,
        CalendarEventLink.calendar_id == calendar_id).with_for_update(of=CalendarEventLink)).all()
    changed = 0
    for link, appointment in rows:
        event = ours[link.id]
        if not is_ours(event, link.id, appointment.id, appointment.org_id):
            continue
        if link.sync_status not in ("synced", CHANGED) or appointment.status != "scheduled":
            continue  # our own write is on its way (pending) or the appointment is gone: ours wins
        kind, starts_at, ends_at = _what_changed(event, appointment)
        if kind is None:
            if link.sync_status == CHANGED:  # moved back in Google: nothing to choose any more
                _settle(session, link, "synced")
            continue
        changed += 1
        _record_change(session, link, kind, starts_at, ends_at)
        policy = policy_for(appointment.org_id, platform.config)
        if policy != "ask":
            choose(session, platform.registry, link, appointment, policy)
    return {"changed": changed}


def _what_changed(event: dict, appointment: Appointment):
    if event.get("status") == "cancelled":
        return "deleted", None, None
    starts_at, ends_at = _instant(event.get("start")), _instant(event.get("end"))
    if starts_at is None or ends_at is None:  # turned into an all-day event: a move we cannot follow exactly
        return "moved", starts_at, ends_at
    if (starts_at, ends_at) != (appointment.starts_at, appointment.ends_at):
        return "moved", starts_at, ends_at
    return None, None, None


def _record_change(session, link: CalendarEventLink, kind: str, starts_at, ends_at) -> None:
    change = session.get(GoogleChange, link.id) or GoogleChange(link_id=link.id)
    change.kind, change.starts_at, change.ends_at, change.detected_at = kind, starts_at, ends_at, utcnow()
    session.add(change)
    link.sync_status = CHANGED
    link.last_error = ("Deleted in Google Calendar." if kind == "deleted" else
                       f"Moved in Google Calendar to {starts_at:%Y-%m-%d %H:%M}–{ends_at:%H:%M} UTC."
                       if starts_at and ends_at else "Changed into an all-day event in Google Calendar.")


def _settle(session, link: CalendarEventLink, status: str) -> None:
    session.execute(delete(GoogleChange).where(GoogleChange.link_id == link.id))
    link.sync_status, link.last_error, link.attempts = status, None, 0


class CannotFollow(ValueError):
    """Google's version cannot become the appointment (e.g. an all-day event); restore instead."""


def choose(session, registry, link: CalendarEventLink, appointment: Appointment, choice: str) -> None:
    """Apply the user's (or the policy's) choice for a change made in Google.

    ``keep_google``: the appointment takes Google's times (or is cancelled); Google already
    shows it, so the link is recorded synced at the new version and nothing is written back.
    ``restore``: the link goes pending and Phase A makes Google show the appointment again.
    """
    change = session.get(GoogleChange, link.id)
    if change is None:
        return
    if choice == "restore":
        _settle(session, link, "pending")
        from plugins.google_calendar.sync import coalesce_key as sync_key, sync_user

        enqueue_after_commit(session, sync_user, link.user_id, coalesce=sync_key(link.user_id))
        return
    if change.kind == "moved" and (change.starts_at is None or change.ends_at is None):
        raise CannotFollow(gettext("Google made it an all-day event; restore it or move it yourself."))
    try:
        if change.kind == "deleted":
            cancel_appointment(session, registry, appointment)
        else:
            update_appointment(session, registry, appointment,
                                {"starts_at": change.starts_at, "ends_at": change.ends_at})
    except InvalidAppointment as exc:
        raise CannotFollow(exc.message) from None
    _settle(session, link, "deleted" if change.kind == "deleted" else "synced")
    link.synced_version = appointment.version  # Google already shows this version


def pending_changes(session, user) -> list[dict]:
    """The changes made in Google to ``user``'s appointments, waiting for a choice."""
    rows = session.execute(select(GoogleChange, CalendarEventLink.appointment_id, Appointment).join(
        CalendarEventLink, CalendarEventLink.id == GoogleChange.link_id).join(
        Appointment, Appointment.id == CalendarEventLink.appointment_id).where(
        CalendarEventLink.user_id == user.id, CalendarEventLink.sync_status == CHANGED)).all()
    return [{"appointment_id": appointment_id, "change": change.kind, "google_starts_at": change.starts_at,
             "google_ends_at": change.ends_at, "starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
             "detected_at": change.detected_at} for change, appointment_id, appointment in rows]
