"""Level-triggered sync of appointments to the owner's chosen CalDAV calendar, through core's sync capability.

An appointment change marks its link stale in its own transaction and, after commit, enqueues
:func:`sync_user`. A run holds the user's lease (one run per user across every worker), reads
the stale links again and makes the calendar match each appointment's *current* state: create
(``If-None-Match: *`` at the deterministic object URL, after recording that URL), update
(``If-Match`` with the stored ETag), move (delete from the calendar the user left, create in the
new one) or delete (404/410 = done) — see :mod:`plugins.caldav.objects`. Before every call it
reads the connection again: sync off, disconnected or another target means no further request.

Rate limits, 5xx and network failures leave the link pending and back off exponentially with
jitter (an ``rq.Retry`` in a worker; in-process mode waits for the next change or
``connectors sync reconcile``); after ``MAX_ATTEMPTS`` the link is ``failed``. A refused login
marks the connection ``needs_reauth``; a calendar that no longer exists marks it ``error``
until another calendar is chosen.
"""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, replace


from core import (ConnectorError, LockTimeout, NeedsReauth, QuotaSpec, current_platform, enqueue_after_commit)
from plugins.caldav import busy, client, ical, links, objects
from plugins.caldav.models import CalDAVEventLink as Link

log = logging.getLogger(__name__)

KEY = "caldav"
ROUND = 20
MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
LEASE_TTL = 120.0
#: A wait for quota tokens this short is taken in place; a longer one backs the run off.
PACE = 1.0
QUOTAS = (QuotaSpec("user", "CALDAV_QUOTA_USER_PER_MIN", 300, per_user=True,
                    description="CalDAV requests per user per minute, shared by all workers"),)


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``stopped`` (no request may be made now), or ``retry_in`` seconds to back off."""

    stopped: bool = False
    retry_in: float | None = None


DONE, STOPPED = Outcome(), Outcome(stopped=True)


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts``: exponential, capped, with "equal jitter"."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def sync_user(user_id: int):
    """RQ job: bring ``user_id``'s CalDAV calendar in line with every stale link."""
    from rq import Retry, get_current_job  # imported by the job: not paid by every process start

    platform = current_platform()
    in_worker = get_current_job() is not None
    while True:
        try:
            with platform.lock(f"{KEY}:sync:{user_id}", ttl=LEASE_TTL, wait=0.05):
                outcome = Run(platform, user_id).drain()
        except LockTimeout:
            return None  # the holder looks for more work after letting go
        if outcome.retry_in is not None:
            if not in_worker:
                log.info("CalDAV sync of user %s left pending for reconcile (in-process mode does not retry)", user_id)
                return None
            return Retry(max=10_000, interval=[max(1, math.ceil(outcome.retry_in))])
        if outcome.stopped:
            return None
        with platform.db.session_scope() as session:
            if not Link.has_stale(session, user_id):
                return None


def retract_user(user_id: int):
    """RQ job: remove the events of ``user_id``'s future appointments (another connector is the target)."""
    platform = current_platform()
    try:
        with platform.lock(f"{KEY}:sync:{user_id}", ttl=LEASE_TTL, wait=LEASE_TTL):
            Run(platform, user_id).retract()
    except LockTimeout:
        log.warning("CalDAV events of user %s not removed: a sync run held the lease too long", user_id)
    return None


class Run:
    """One run for one user, under their lease."""

    def __init__(self, platform, user_id: int):
        self.platform, self.user_id = platform, user_id
        self.db = platform.db
        self.buckets = platform.buckets(KEY, user_id)
        self._first_calendar: str | None = None

    def account(self, require_target: bool = True) -> tuple[client.Account, str] | None:
        """The account and calendar to write to now, or None when no request may be made
        (re-read before every request)."""
        with self.db.session_scope() as session:
            row = self.platform.connection(session, self.user_id, KEY)
            settings = self.platform.settings(session, self.user_id, KEY)
            if row is None or row.status != "active" or (require_target and not settings["sync_enabled"]):
                return None
            values = self.platform.credentials.load_config(session, self.user_id, KEY)
        account = client.Account.from_values(values)
        calendar_id = settings["calendar_id"]
        if not calendar_id:
            if self._first_calendar is None:
                listed = client.calendars(account)
                self._first_calendar = listed[0]["id"] if listed else ""
            calendar_id = self._first_calendar
        return (account, calendar_id) if calendar_id else None

    def pace(self) -> float | None:
        """Take one request's token from the user's quota; the seconds to back off when it is far off."""
        while True:
            grant = self.platform.quota.take(self.buckets, 1)
            if grant.tokens:
                return None
            if grant.wait > PACE:
                return grant.wait
            time.sleep(grant.wait)  # pacing for quota tokens; error backoff never sleeps here

    def drain(self) -> Outcome:
        """Write stale links until none is left, the run must stop, or it must back off."""
        while True:
            try:
                target = self.account()
            except NeedsReauth as exc:
                return self.needs_reauth(exc)
            except ConnectorError as exc:
                log.info("CalDAV sync of user %s cannot start: %s", self.user_id, exc.code)
                return Outcome(retry_in=backoff(MAX_ATTEMPTS // 2))
            if target is None:
                return STOPPED
            with self.db.session_scope() as session:
                items = links.stale_items(session, self.user_id, ROUND)
            if not items:
                return DONE
            retry_in = None
            for item in items:
                if self.account() != target:
                    break
                waited = self.pace()
                if waited is not None:
                    return Outcome(retry_in=waited)
                outcome = self.write(item, *target)
                if outcome.stopped:
                    return outcome
                if outcome.retry_in is not None:
                    retry_in = max(retry_in or 0.0, outcome.retry_in)
            if retry_in is not None:
                return Outcome(retry_in=retry_in)

    def write(self, item: links.Item, account: client.Account, calendar_id: str) -> Outcome:
        """Make the calendar match ``item``; record the result."""
        try:
            with client.connect(account) as dav:
                if item.cancelled:
                    # No object recorded: its deterministic path is tried all the same (a GET that
                    # finds nothing costs no DELETE): a database that lost its last commits may
                    # have lost the record of a PUT that reached the server.
                    href = item.href or item.href_in(calendar_id)
                    objects.delete(dav, account.url_of(href), item.etag, item.ours)
                    with self.db.session_scope() as session:
                        links.record_deleted(session, item)
                    busy.forget(self.platform, self.user_id)
                    return DONE
                if item.href and item.calendar_id != calendar_id:  # the user chose another calendar
                    objects.delete(dav, account.url_of(item.href), item.etag, item.ours)
                    with self.db.session_scope() as session:
                        links.record_moved_away(session, item)
                    item = replace(item, href=None, etag=None, calendar_id=None)
                body = ical.to_ical(item.event)
                href = item.href_in(calendar_id)
                if item.href is None:
                    with self.db.session_scope() as session:
                        links.claim(session, item, calendar_id)
                    etag = objects.create(dav, account.url_of(href), body, item.ours)
                else:
                    etag = objects.update(dav, account.url_of(href), body, item.etag, item.ours)
            with self.db.session_scope() as session:
                links.record_written(session, item, calendar_id, etag)
            busy.forget(self.platform, self.user_id)
            return DONE
        except NeedsReauth as exc:
            return self.needs_reauth(exc)
        except objects.CalendarMissing as exc:
            return self.calendar_missing(item, calendar_id, exc)
        except objects.Refused as exc:
            with self.db.session_scope() as session:
                links.record_problem(session, item, exc.message, failed=True)
            return DONE
        except ConnectorError as exc:
            return self.problem(item, exc.message)

    def problem(self, item: links.Item, message: str) -> Outcome:
        """A failure worth retrying: keep the link pending (``failed`` after MAX_ATTEMPTS) and back off."""
        given_up = item.attempts + 1 >= MAX_ATTEMPTS
        with self.db.session_scope() as session:
            attempts = links.record_problem(session, item, f"Gave up: {message}" if given_up else message,
                                            failed=given_up)
        return DONE if given_up else Outcome(retry_in=backoff(attempts))

    def needs_reauth(self, exc: NeedsReauth) -> Outcome:
        """The server refused the login: the user must enter a new app password; no further request."""
        self.platform.mark_needs_reauth(self.user_id, KEY, exc.message)
        log.info("CalDAV sync of user %s stopped: the login was refused", self.user_id)
        return STOPPED

    def calendar_missing(self, item: links.Item, calendar_id: str, exc: ConnectorError) -> Outcome:
        """The chosen calendar is gone: say so on the connection and stop until another is picked."""
        message = f"CalDAV calendar {calendar_id!r} was not found: pick another calendar in the CalDAV settings."
        with self.db.session_scope() as session:
            row = self.platform.connection(session, self.user_id, KEY)
            if row is not None:
                row.status, row.last_error = "error", message
            links.record_problem(session, item, message)
        return STOPPED

    def retract(self) -> None:
        """Delete the events of the user's future appointments from the calendar."""
        with self.db.session_scope() as session:
            items = links.placed_future(session, self.user_id)
        try:
            target = self.account(require_target=False)
        except ConnectorError:
            target = None
        if target is None or not items:
            return
        account = target[0]
        try:
            with client.connect(account) as dav:
                for item in items:
                    objects.delete(dav, account.url_of(item.href), item.etag, item.ours)
                    with self.db.session_scope() as session:
                        links.record_retracted(session, item)
                    busy.forget(self.platform, self.user_id)
        except ConnectorError as exc:
            log.warning("CalDAV events of user %s not all removed: %s", self.user_id, exc.code)


# -- the sync capability ------------------------------------------------------------------


def changed(platform, session, user_id: int, appointment_id: int, created: bool) -> None:
    """An appointment of ``user_id`` changed: mark its link stale and enqueue the user's run."""
    _, became_stale = Link.mark_changed(session, appointment_id, user_id)
    if became_stale:
        enqueue_after_commit(session, sync_user, user_id, coalesce=coalesce_key(user_id))


def start(platform, session, user_id: int) -> None:
    """CalDAV is the user's target now: link every appointment and bring the calendar in line."""
    links.link_missing(session, user_id)
    enqueue_after_commit(session, sync_user, user_id)


def stop(platform, session, user_id: int) -> None:
    """Another connector took over: remove the events of future appointments."""
    enqueue_after_commit(session, retract_user, user_id)


def reconcile(platform, session) -> dict:
    """Enqueue a run for every user with links behind; report counts."""
    retried = Link.retry_failed(session)
    session.flush()
    counts = links.stale_users(session)
    for user_id in counts:
        enqueue_after_commit(session, sync_user, user_id, coalesce=coalesce_key(user_id))
    return {"caldav_stale_links": sum(counts.values()), "caldav_users": len(counts),
            "caldav_failed_retried": retried}


def details(platform, session, user_id: int) -> dict:
    """``last_sync`` and ``pending_changes`` for the connector's status."""
    return Link.status_details(session, user_id)


def appointment_fields(platform, session, appointment_ids: list[int]) -> dict[int, dict]:
    """Each appointment's sync state for the appointments API."""
    return links.appointment_fields(session, appointment_ids)


def settings_changed(platform, session, event) -> None:
    """Another calendar chosen: clear the connection's "calendar not found" error (the run moves the events)."""
    if event.data["before"].get("calendar_id") == event.data["after"].get("calendar_id"):
        return
    row = platform.connection(session, event.user_id, KEY)
    if row is not None and row.status == "error":
        row.status, row.last_error = "active", None


def coalesce_key(user_id: int) -> str:
    """Sync jobs of one user wait in the queue one at a time."""
    return f"{KEY}:sync:{user_id}"
