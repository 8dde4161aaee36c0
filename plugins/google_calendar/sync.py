"""Level-triggered sync of appointments to each owner's chosen Google Calendar (Phase A: app → Google).

A change marks the appointment's link stale in its own transaction and, after commit, enqueues
:func:`sync_link`. Every job runs the owner's *sync run*: under the owner's lease it reads the
stale links again and makes Google match their current state — insert (with the link's
deterministic id; 409 → fetch and patch), patch, or delete (404/410 = done) — in rounds of up
to 50 calls sent as one Google batch, each round paid for with tokens from the shared quota.
Jobs that find the lease taken knock on it and leave the work to its holder, which looks again
after letting go when someone knocked (:mod:`.lease`).
In a worker, the run goes to one of the worker's run threads (:func:`core.hand_off`): the job
returns at once, so one worker has several users' rounds in flight while Google answers. A run
whose queue holds other jobs ends after each round and queues itself again at the back, so that
users are served in turn rather than one after the other.

Rate limits and 5xx back off exponentially with jitter: the run ends and queues itself again
after the backoff (:func:`core.dispatch_in`; nothing sleeps); so does a quota bucket that needs
more than ``PACE`` seconds to give the next tokens (``MAX_PACE`` when parking would not let
anything else go sooner); shorter waits are paced in place. In-process mode honours the same
waits with core's in-process scheduler, so a transient error heals without Redis there too.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from googleapiclient.errors import BatchError

from core import (ConnectorError, NeedsReauth, current_platform, dispatch, dispatch_in, enqueue_after_commit, hand_off,
                  others_waiting)
from plugins import google
from plugins.google_calendar.models import CalendarEventLink
from plugins.google_calendar import busy_channels, channels, lease, links
from plugins.google_calendar.changes import coalesce_key as changes_key, pull_changes
from plugins.google_calendar.links import Item
from plugins.google_calendar.mapping import is_ours
from plugins.google_calendar.transport import BATCH_LIMIT, Caller

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
MAX_FOLLOW_UPS = 3
#: A wait for the user's own quota tokens this short is taken in place; a longer one parks the
#: run, so that the worker serves other users' jobs meanwhile.
PACE = 0.2
#: Waits up to this long are taken in place when parking would not let anything else go sooner:
#: every run waits for the project's tokens alike, and an empty queue has no other job to serve.
MAX_PACE = 1.0
STOPPED = "stopped"
YIELD = "yield"
GONE = (404, 410)


def sync_link(link_id: int):
    """RQ job: make Google match the appointment of ``link_id`` (and its owner's other stale links).

    Changes now enqueue :func:`sync_user` with the owner's id (one read fewer per run); this
    stays for jobs enqueued before."""
    with current_platform().db.session_scope() as session:
        link = session.get(CalendarEventLink, link_id)
        user_id = link.user_id if link is not None else None
    return None if user_id is None else sync_user(user_id)


def sync_user(user_id: int, resume: str | None = None):
    """RQ job: bring ``user_id``'s calendar in line with every stale link, on a run thread of the worker.

    ``resume`` is the lease owner of a parked run coming back: a short wait comes back to the
    millisecond (:func:`core.dispatch_in`), not on RQ's whole-second scheduler ticks, which brought
    it back one to two seconds later, after its user's bucket (one second's worth) had overflowed."""
    from rq import get_current_job  # imported by the job: not paid by every process start

    job = get_current_job()
    return hand_off(run_user, user_id, resume or (job.id if job is not None else None))


def run_user(user_id: int, owner: str | None) -> None:
    """Under the user's lease (held for ``owner``), sync rounds until nothing is stale, the run must
    stop, wait (it comes back then, as ``owner``) or let other users go first (it queues itself again)."""
    platform = current_platform()
    while True:
        try:
            with lease.hold(platform, user_id, owner) as held:
                outcome = Run(platform, user_id).drain()
                if isinstance(outcome, float):
                    held.park(outcome)
        except lease.Busy:
            return
        if isinstance(outcome, float):
            dispatch_in(outcome, sync_user, user_id, owner, at_front=True)
            return
        if outcome == STOPPED:
            return
        if outcome is None:
            if not held.knocked:  # no job found the lease taken: every change so far was in the rounds
                return
            with platform.db.session_scope() as session:  # changes that came while the lease was held
                if not CalendarEventLink.has_stale(session, user_id):
                    return
            if not others_waiting():
                continue
        dispatch(sync_user, user_id, coalesce=coalesce_key(user_id))  # to the back of the queue: users take turns
        return


def coalesce_key(user_id: int) -> str:
    """Sync jobs of one user wait in the queue one at a time (see :mod:`core.jobs`)."""
    return f"google_calendar:sync:{user_id}"


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts``: exponential, capped, with "equal jitter"."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class Op:
    """One Calendar call for one link: ``insert``, ``patch``, ``delete``, ``move`` (delete elsewhere) or ``get``."""

    kind: str
    item: Item
    calendar_id: str
    depth: int = 0
    claimed: bool = False  # an insert whose event id and calendar are recorded (see :func:`claim`)

    @property
    def event_id(self) -> str:
        """The Google event id this call addresses."""
        return self.item.event_id or self.item.fresh_id

    def request(self, caller: Caller):
        """The google-api-python-client request of this call."""
        events, common = caller.events, {"calendarId": self.calendar_id}
        if self.kind == "insert":
            return events.insert(**common, body={**self.item.body, "id": self.item.fresh_id}, sendUpdates="none")
        if self.kind == "patch":
            return events.patch(**common, eventId=self.event_id, body=self.item.body, sendUpdates="none")
        if self.kind == "get":
            return events.get(**common, eventId=self.event_id)
        return events.delete(**common, eventId=self.event_id, sendUpdates="none")


def claim(session, ops: list[Op]) -> None:
    """Record the event id and calendar of every insert among ``ops`` not claimed yet, before it is
    sent: from then on the event *may* exist, whatever happens to the call."""
    inserts = [op for op in ops if op.kind == "insert" and not op.claimed]
    links.lock(session, [op.item.link_id for op in inserts])
    for op in inserts:
        links.claim(session, op.item, op.calendar_id)
        op.claimed = True


def first_op(item: Item, calendar_id: str) -> Op:
    """The call that brings ``item`` in line.

    A cancelled appointment whose link records no event still costs a delete of its
    deterministic id (404 is done): the link is written before the insert it announces, but a
    database that lost its last commits (a crash without durable commits, a failover to an
    asynchronous standby, a restore) may have lost that record while the event reached Google.
    """
    if item.cancelled:
        return Op("delete", item, item.calendar_id or calendar_id)
    if item.event_id is None:
        return Op("insert", item, calendar_id)
    if item.calendar_id not in (None, calendar_id):
        return Op("move", item, item.calendar_id)
    if item.calendar_id is None or item.synced_version == 0:
        return Op("insert", item, calendar_id)
    return Op("patch", item, calendar_id)


class Run:
    """One sync run for one user, under their lease: rounds of calls until nothing is stale."""

    def __init__(self, platform, user_id: int):
        self.platform, self.user_id = platform, user_id
        self.db = platform.db
        self.buckets = platform.buckets(links.KEY, user_id)  # the user's quota first, then the project's
        self.quota = platform.quota
        self._caller: Caller | None = None

    def caller(self) -> Caller:
        """The user's Calendar transport (made on first call: it fetches a fresh access token)."""
        if self._caller is None:
            self._caller = Caller(self.platform.credentials, self.user_id, self.platform.api_root(links.KEY))
        return self._caller

    def retract(self) -> None:
        """Delete the events of the user's future appointments (another connector is their target now)."""
        with self.db.session_scope() as session:
            items = links.placed_future(session, self.user_id)
        while items:
            grant = self.quota.take(self.buckets, len(items))
            if not grant.tokens:
                time.sleep(grant.wait)  # pacing for quota tokens
                continue
            sending, items = items[:grant.tokens], items[grant.tokens:]
            ops = [Op("delete", item, item.calendar_id) for item in sending]
            try:
                results = self.caller().run([op.request(self.caller()) for op in ops])
            except (ConnectorError, BatchError) as exc:
                log.warning("Google Calendar events of user %s not removed: %s", self.user_id, type(exc).__name__)
                return
            with self.db.session_scope() as session:
                links.lock(session, [item.link_id for item in sending])
                for op, (_response, error) in zip(ops, results, strict=True):
                    if error is None or error.resp.status in GONE:
                        links.record_retracted(session, op.item)

    def target(self) -> str | None:
        """The calendar to write to now, or None when no call may be made (re-read before every call)."""
        with self.db.session_scope() as session:
            return links.target(session, self.user_id)

    def drain(self):
        """Sync stale links until none is left (None), the run must stop (STOPPED), wait
        (seconds) or, after a round, let the other users' jobs waiting in the queue go first (YIELD).

        A round that took every stale link ends the drain (None) without reading them again: the
        run reads once more after letting go of the lease, as it must anyway for the changes whose
        jobs found the lease taken, so that a one-change round costs one job, not two."""
        while True:
            with self.db.session_scope() as session:  # one transaction: the target, what is stale, the claims
                calendar_id = links.target(session, self.user_id)
                if calendar_id is None:
                    return STOPPED
                items = links.stale_items(session, self.user_id, BATCH_LIMIT)
                ops = [first_op(item, calendar_id) for item in items]
                claim(session, ops)
            if not ops:
                return None
            outcome, sent_all = self.round(ops, calendar_id)
            if outcome is not None:
                return outcome
            if sent_all and len(ops) < BATCH_LIMIT:  # every stale link was sent: the run ends, looking again
                return None                          # only if a job found its lease taken meanwhile
            if others_waiting():
                return YIELD

    def round(self, ops: list[Op], calendar_id: str) -> tuple:
        """Send as many of ``ops`` as one quota grant allows, and their follow-ups; return the outcome
        (None, STOPPED or seconds to wait) and whether every one of ``ops`` was sent. The target is
        read again before every call but the first, whose target :meth:`drain` has just read."""
        retry_in, checked, sent_all, first = None, True, False, True
        while ops:
            now = calendar_id if checked else self.target()
            checked = False
            if now != calendar_id:
                return (None if now else STOPPED), False
            grant = self.quota.take(self.buckets, len(ops), minimum=int(self.buckets[0].capacity // 2))
            if not grant.tokens:
                if grant.wait > self.pace_limit(grant):
                    return grant.wait, False
                time.sleep(grant.wait)  # pacing for quota tokens; error backoff never sleeps here
                continue
            if first:  # the first send is of ``ops`` themselves; later ones of their follow-ups
                sent_all, first = grant.tokens >= len(ops), False
            ops, outcome = self.send(ops[:grant.tokens], calendar_id)
            if outcome == STOPPED:
                return STOPPED, False
            if outcome is not None:
                retry_in = max(retry_in or 0.0, outcome)
        return retry_in, sent_all

    def pace_limit(self, grant) -> float:
        """The longest wait for quota tokens this run takes in place rather than parking."""
        if grant.waiting_for == self.buckets[-1] or others_waiting() is False:
            return MAX_PACE
        return PACE

    def send(self, ops: list[Op], calendar_id: str):
        """Make the calls; record results; return (follow-up ops, STOPPED | seconds to back off | None)."""
        if any(op.kind == "insert" and not op.claimed for op in ops):  # follow-ups
            with self.db.session_scope() as session:
                claim(session, ops)
        try:
            results = self.caller().run([op.request(self.caller()) for op in ops])
        except NeedsReauth:
            self.platform.record_provider_call(links.KEY, "needs_reauth", count=len(ops))
            log.info("Google Calendar sync of user %s stopped: the grant needs a new consent", self.user_id)
            return [], STOPPED
        except (ConnectorError, BatchError) as exc:
            self.platform.record_provider_call(links.KEY, type(exc).__name__, count=len(ops))
            message = f"Could not reach Google Calendar ({type(exc).__name__}); retrying."
            with self.db.session_scope() as session:
                return [], self.problems(session, [op.item for op in ops], message)
        follow_ups, retry_in, missing = [], None, []
        with self.db.session_scope() as session:
            links.lock(session, [op.item.link_id for op in ops])
            for op, (response, error) in zip(ops, results, strict=True):
                status = error.resp.status if error is not None else None
                self.platform.record_provider_call(
                    links.KEY, None if error is None else google.reason_of(error) or str(status))
                if error is None or (op.kind in ("delete", "move") and status in GONE):
                    follow_ups.append(self.settle(session, op, response, calendar_id))
                elif op.kind == "insert" and status == 409:
                    follow_ups.append(self.follow(session, op, "get"))
                elif op.kind == "patch" and status == 404:
                    follow_ups.append(self.follow(session, op, "insert"))
                elif op.kind == "insert" and status == 404:
                    missing.append(op.item)
                elif google.is_retryable(error) or status == 401:
                    reason = google.reason_of(error) or status
                    delay = self.problems(session, [op.item], f"Google answered {status} ({reason}); retrying.")
                    retry_in = max(retry_in or 0.0, delay or 0.0)
                else:
                    links.record_problem(session, op.item, f"Google refused this event ({status} "
                                                           f"{google.reason_of(error)}).", failed=True)
            if missing:
                self.calendar_missing(session, missing, calendar_id)
        return [op for op in follow_ups if op is not None], STOPPED if missing else retry_in

    def settle(self, session, op: Op, response, calendar_id: str) -> Op | None:
        """Record a successful call (or a delete of something already gone); return any follow-up."""
        item = op.item
        if op.kind == "move":
            links.record_moved_away(session, item)
            return self.follow(session, op, "insert", calendar_id)
        if op.kind == "get":
            if is_ours(response, item.link_id, item.appointment_id, item.org_id):
                return self.follow(session, op, "patch")
            links.record_problem(session, item, "An event with this id exists in the calendar but was not "
                                                "created for this appointment.", failed=True)
            return None
        deleted = op.kind == "delete"
        # a delete of an event never recorded shows no calendar, as before it
        recorded_in = item.calendar_id if deleted and item.event_id is None else op.calendar_id
        links.record_done(session, item, recorded_in, calendar_id, deleted=deleted)
        return None

    @staticmethod
    def follow(session, op: Op, kind: str, calendar_id: str | None = None) -> Op | None:
        """The follow-up call of ``op``; a chain that keeps going marks the link failed instead."""
        if op.depth < MAX_FOLLOW_UPS:
            return Op(kind, op.item, calendar_id or op.calendar_id, op.depth + 1)
        links.record_problem(session, op.item, "Google kept answering inconsistently for this event.", failed=True)
        return None

    @staticmethod
    def problems(session, items: list[Item], message: str) -> float | None:
        """Record a transient failure for ``items``; return the backoff, or None if they were given up."""
        delays = []
        for item in items:
            given_up = item.attempts + 1 >= MAX_ATTEMPTS
            attempts = links.record_problem(session, item, f"Gave up: {message}" if given_up else message,
                                            failed=given_up)
            if not given_up:
                delays.append(backoff(attempts))
        return max(delays) if delays else None

    def calendar_missing(self, session, items: list[Item], calendar_id: str) -> None:
        """The chosen calendar is gone: say so on the connection and stop until another is picked."""
        message = (f"Google Calendar {calendar_id!r} was not found (deleted, or no longer shared with you): "
                   "pick another calendar in the Google Calendar settings.")
        row = links.connector_row(session, self.user_id)
        if row is not None:
            row.status, row.last_error = "error", message
        for item in items:
            links.record_problem(session, item, message)
        log.info("Google Calendar sync of user %s stopped: calendar not found", self.user_id)


def retract_user(user_id: int):
    """RQ job: remove from Google the events of ``user_id``'s future appointments."""
    from rq import Retry, get_current_job

    platform = current_platform()
    job = get_current_job()
    try:
        with lease.hold(platform, user_id, job.id if job is not None else None):
            Run(platform, user_id).retract()
    except lease.Busy:  # a sync run is finishing (it stops at its next check): try again shortly
        return Retry(max=10, interval=[5])
    return None


def changed(platform, session, user_id: int, appointment_id: int, created: bool) -> None:
    """Sync capability: mark the appointment's link stale and enqueue its owner's sync run."""
    CalendarEventLink.mark_changed(session, appointment_id, user_id, new=created)
    # Even for a link already stale: a run may have it in a round in flight, recording the version
    # before this one. This change's job then finds the run's lease taken and knocks, so the run
    # looks again; one waiting job per user is enough (coalesced): its run syncs every stale link.
    enqueue_after_commit(session, sync_user, user_id, coalesce=coalesce_key(user_id))


def start(platform, session, user_id: int) -> None:
    """Sync capability: Google Calendar is the user's target now: link every appointment, sync them all."""
    links.link_missing(session, user_id)
    enqueue_after_commit(session, sync_user, user_id)


def stop(platform, session, user_id: int) -> None:
    """Sync capability: another connector took over: remove the events of future appointments."""
    enqueue_after_commit(session, retract_user, user_id)


def settings_changed(event, session) -> None:
    """Another calendar chosen: every link is re-placed; a fixed calendar clears the connection's error."""
    before, after = event.data["before"], event.data["after"]
    if before.get("calendar_id") != after.get("calendar_id"):
        CalendarEventLink.mark_calendar_switched(session, event.user_id)
    row = links.connector_row(session, event.user_id)
    if row is not None and row.status == "error":
        row.status, row.last_error = "active", None


def reconcile_user(session, user_id: int) -> int:
    """Give the user's failed links another chance and enqueue their sync run; return stale links."""
    CalendarEventLink.retry_failed(session, user_id)
    session.flush()
    enqueue_after_commit(session, sync_user, user_id)
    return links.stale_by_user(session).get(user_id, 0)


def reconcile(platform, session) -> dict:
    """Sync capability: enqueue a sync run for every user with links behind (``synced_version < version``),
    renew push channels about to expire and poll the calendars of users without one."""
    retried = CalendarEventLink.retry_failed(session)
    session.flush()
    counts = links.stale_by_user(session)
    for user_id in counts:
        enqueue_after_commit(session, sync_user, user_id)
    renew, poll = channels.due(session)
    for user_id in renew:
        enqueue_after_commit(session, channels.watch, user_id)
    for user_id in poll:
        enqueue_after_commit(session, pull_changes, user_id, coalesce=changes_key(user_id))
    busy_renew = busy_channels.due(session)
    for user_id in busy_renew:
        enqueue_after_commit(session, busy_channels.watch_busy, user_id)
    return {"google_calendar_stale_links": sum(counts.values()), "google_calendar_users": len(counts),
            "google_calendar_busy_channels_renewed": len(busy_renew),
            "google_calendar_failed_retried": retried, "google_calendar_channels_renewed": len(renew),
            "google_calendar_polled": len(poll)}
