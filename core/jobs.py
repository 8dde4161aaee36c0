"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, in-process right after commit otherwise.

Work is always scheduled with :func:`enqueue_after_commit`, so a job never runs for a change
that was rolled back, and never before the change is visible to it.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event

log = logging.getLogger(__name__)

QUEUE_NAME = "connectors"
_PENDING = "connectors.after_commit"


def enqueue_after_commit(session, func, *args, **options) -> None:
    """Run ``func(*args)`` as a job once ``session`` commits (dropped if it rolls back).

    ``func`` must be an importable module-level function. ``options`` go to RQ's
    ``enqueue_call`` (``retry``, ``job_id``…); in-process mode ignores them.
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


def dispatch(func, *args, **options) -> None:
    """Enqueue on RQ, or run now in-process. A failed enqueue is logged, never raised:
    the change is committed and ``connectors sync reconcile`` picks it up later."""
    queue = current_app.extensions.get("connectors.queue")
    if queue is None:
        try:
            func(*args)
        except Exception:
            log.exception("In-process job %s failed", func.__name__)
        return
    try:
        queue.enqueue_call(func, args=args, **options)
    except Exception as exc:
        log.warning("Could not enqueue %s (%s); reconcile will pick it up", func.__name__, type(exc).__name__)
