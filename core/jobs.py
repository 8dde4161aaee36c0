"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process right after commit otherwise.

Work is always scheduled with :func:`enqueue_after_commit`, so a job never runs for a change
that was rolled back, and never before the change is visible to it.

Level-triggered jobs (they read the current state and bring something in line with it) may
be *coalesced*: with ``coalesce=key``, a job is not enqueued again while one with the same key
is still waiting in the queue. A Redis marker ``connectors:queued:<key>`` (set with NX) says
one is waiting; the job deletes it as it starts, *before* it reads anything, so a change
committed after that enqueues a new job and a change committed before it is seen by this one.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event

log = logging.getLogger(__name__)

QUEUE_NAME = "connectors"
_PENDING = "connectors.after_commit"
#: Seconds a coalescing marker outlives a job that never started (lost with its queue, say).
COALESCE_TTL = 300


def enqueue_after_commit(session, func, *args, **options) -> None:
    """Run ``func(*args)`` as a job once ``session`` commits (dropped if it rolls back).

    ``func`` must be an importable module-level function. ``options`` go to RQ's
    ``enqueue_call`` (``retry``, ``job_id``…), except ``coalesce`` (see the module's doc);
    in-process mode ignores them.
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
        try:
            func(*args)
        except Exception:
            log.exception("In-process job %s failed", func.__name__)
        return
    marker = f"connectors:queued:{coalesce}" if coalesce else None
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
