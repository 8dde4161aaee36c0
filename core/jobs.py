"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process right after commit otherwise.

Work is always scheduled with :func:`enqueue_after_commit`, so a job never runs for a change
that was rolled back, and never before the change is visible to it.

A job asks to run again later by returning :class:`rq.Retry`: RQ's scheduler honours it in a
worker; in-process, :class:`InlineScheduler` (one daemon thread per app, started on first use)
runs the job again after the same interval, so a transient failure heals without Redis.
RQ's scheduler works in whole seconds (a job comes back one to two seconds after a one-second
Retry); :func:`dispatch_in` enqueues short waits to the millisecond from a timer of the worker's
own (lost with the process: a reconcile makes good) and longer ones through RQ's scheduler.

Level-triggered jobs (they read the current state and bring something in line with it) may
be *coalesced*: with ``coalesce=key``, a job is not enqueued again while one with the same key
is still waiting in the queue. A Redis marker ``connectors:queued:<key>`` (set with NX) says
one is waiting; the job deletes it as it starts, *before* it reads anything, so a change
committed after that enqueues a new job and a change committed before it is seen by this one.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import event

from core.logs import REQUEST_ID

log = logging.getLogger(__name__)

QUEUE_NAME = "connectors"
_PENDING = "connectors.after_commit"
#: Seconds a coalescing marker outlives a job that never started (lost with its queue, say).
COALESCE_TTL = 300
#: :func:`dispatch_in` times waits up to this long itself, to the millisecond; longer ones go to RQ's scheduler.
PRECISE = 5.0


def enqueue_after_commit(session, func, *args, **options) -> None:
    """Run ``func(*args)`` as a job once ``session`` commits (dropped if it rolls back).

    ``func`` must be an importable module-level function. ``options`` go to RQ's
    ``enqueue_call`` (``retry``, ``job_id``…), except ``coalesce`` (see the module's doc);
    in-process mode ignores them. The job carries the current request id (``meta["request_id"]``
    on RQ) into its log lines.
    """
    session.info.setdefault(_PENDING, []).append((func, args, options))


def install(sessionmaker) -> None:
    """Attach the after-commit dispatcher to every session the factory makes."""
    event.listen(sessionmaker, "after_commit", _after_commit)
    event.listen(sessionmaker, "after_soft_rollback", _after_rollback)


def _after_rollback(session, _previous_transaction):
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def _after_commit(session):
    pending = session.info.pop(_PENDING, [])
    for func, args, options in pending:
        dispatch(func, *args, **options)


def dispatch(func, *args, coalesce: str | None = None, **options) -> None:
    """Enqueue on RQ, or run now in-process. A failed enqueue is logged, never raised:
    the change is committed and ``connectors sync reconcile`` picks it up later."""
    queue = current_app.extensions.get("connectors.queue")
    if queue is None:
        run_inline(current_app._get_current_object(), func, args)
        return
    marker = f"connectors:queued:{coalesce}" if coalesce else None
    options = _with_request_id(options)
    try:
        if marker is not None:
            if not queue.connection.set(marker, 1, nx=True, ex=COALESCE_TTL):
                return  # the same job is waiting in the queue and will see this change
            queue.enqueue_call(run_coalesced, args=(marker, func, *args), **options)
        else:
            queue.enqueue_call(func, args=args, **options)
    except Exception as exc:
        log.warning("Could not enqueue %s (%s); reconcile will pick it up", func.__name__, type(exc).__name__)
        if marker is not None:
            _forget(queue, marker)


def dispatch_in(seconds: float, func, *args, **options) -> None:
    """Enqueue ``func(*args)`` (``options`` as for :func:`dispatch`) in ``seconds``; in-process mode runs it then.

    Waits up to :data:`PRECISE` seconds are timed to the millisecond by a thread of this process
    (:class:`InlineScheduler`), which dies with it: use them only for work that something else
    finds again (a reconcile). Longer waits go to RQ's scheduler, which outlives the process and
    works in whole seconds; ``coalesce`` does not apply to them.
    """
    app = current_app._get_current_object()
    queue = app.extensions.get("connectors.queue")
    if queue is None or seconds <= PRECISE:
        app.extensions.setdefault("connectors.inline_scheduler", InlineScheduler(app)).after(
            seconds, func, args, options)
        return
    options.pop("coalesce", None)
    try:
        queue.enqueue_in(timedelta(seconds=seconds), func, *args, **_with_request_id(options))
    except Exception as exc:
        log.warning("Could not schedule %s (%s); reconcile will pick it up", func.__name__, type(exc).__name__)


def _with_request_id(options: dict) -> dict:
    """RQ enqueue ``options`` carrying the current request id in the job's ``meta`` (for its log lines)."""
    if not REQUEST_ID.get():
        return options
    return {**options, "meta": {**options.get("meta", {}), "request_id": REQUEST_ID.get()}}


def run_coalesced(marker: str, func, *args):
    """RQ job: let the next change enqueue again (delete ``marker``), then run ``func(*args)``."""
    from rq import get_current_job

    get_current_job().connection.delete(marker)
    return func(*args)


def _forget(queue, marker: str) -> None:
    try:
        queue.connection.delete(marker)
    except Exception:  # Redis is down: the marker's TTL ends it
        pass


def run_inline(app, func, args: tuple) -> None:
    """Run a job in this process (app context pushed); a returned :class:`rq.Retry` schedules it again."""
    try:
        result = func(*args)
    except Exception:
        log.exception("In-process job %s failed", func.__name__)
        return
    if result is None:
        return
    from rq import Retry  # imported when a job returns something: not by every process start

    if isinstance(result, Retry):
        delay = result.intervals[0] if result.intervals else 0
        app.extensions.setdefault("connectors.inline_scheduler", InlineScheduler(app)).after(delay, func, args)


class InlineScheduler:
    """A timer of this process, in one daemon thread: in-process mode's retries, and
    :func:`dispatch_in` in a worker (it enqueues on RQ when due; in-process, it runs the job).

    The same job (function and arguments) waits at most once: it reads the current state when it
    runs, so one later run does what several would.
    """

    def __init__(self, app):
        self.app = app
        self._due: list[tuple[float, int, object, tuple, dict | None, str | None]] = []
        self._waiting: set[tuple] = set()
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, func, args: tuple, options: dict | None = None) -> None:
        """Run ``func(*args)`` in ``seconds`` — or, given enqueue ``options`` and a queue, enqueue it
        then — unless the same job is already waiting."""
        with self._changed:
            if (func, args) in self._waiting:
                return
            self._waiting.add((func, args))
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), func, args, options,
                                       REQUEST_ID.get()))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="inline-retries")
                self._thread.start()
            self._changed.notify()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, func, args, options, request_id = heapq.heappop(self._due)
                self._waiting.discard((func, args))
            REQUEST_ID.set(request_id)
            with self.app.app_context():
                if options is not None and self.app.extensions.get("connectors.queue") is not None:
                    dispatch(func, *args, **options)
                else:
                    run_inline(self.app, func, args)
