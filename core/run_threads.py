"""A worker's run threads: jobs that mostly wait on a provider hand their work to them.

An RQ worker runs one job at a time. A job whose time is mostly a provider's round trip (a sync
round: ~100 ms of waiting for a few ms of work) would keep its worker idle meanwhile, so one
worker carried one user's batch at a time. Such a job calls :func:`hand_off` instead of doing the
work itself: the work runs on one of the worker process's ``WORKER_THREADS`` threads (waiting
for one to be free) and the job returns at once, so the worker takes its next job — several
users' calls in flight per worker process, as the thread pools of Dramatiq and Celery give.

Handed-off work is not an RQ job: it must schedule its own continuation (:func:`core.dispatch`,
:func:`core.dispatch_in`) rather than return :class:`rq.Retry`, and, like :func:`core.dispatch_in`,
it is lost with its process, so it must be work a reconcile finds again. A long-running piece of
work asks :func:`others_waiting` between steps, to let other jobs (and a stopping worker) go first.

Outside a worker (the web process, in-process mode, ``connectors`` commands) and with
``WORKER_THREADS=1``, :func:`hand_off` runs the work in the caller's thread.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

from flask import current_app

from core.logs import REQUEST_ID

log = logging.getLogger(__name__)

EXTENSION = "connectors.run_threads"
#: The queue of the job that handed the current work off (set on run threads).
_ORIGIN: ContextVar[str | None] = ContextVar("connectors_run_origin", default=None)


class RunThreads:
    """``size`` threads of one worker process running handed-off work inside ``app``'s context."""

    def __init__(self, app, size: int):
        self.app, self.size = app, size
        self.stopping = threading.Event()
        self._changed = threading.Condition()
        self._running = 0
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="run")

    def submit(self, func, args: tuple, origin: str | None) -> None:
        """Run ``func(*args)`` on a free thread (blocking until one is free)."""
        with self._changed:
            self._changed.wait_for(lambda: self._running < self.size)
            self._running += 1
        self._executor.submit(self._run, func, args, origin, REQUEST_ID.get())

    def _run(self, func, args: tuple, origin: str | None, request_id: str | None) -> None:
        REQUEST_ID.set(request_id)
        _ORIGIN.set(origin)
        try:
            with self.app.app_context():
                func(*args)
        except Exception:
            log.exception("Handed-off work %s failed", func.__name__)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def join(self) -> None:
        """Wait until no handed-off work is running."""
        with self._changed:
            self._changed.wait_for(lambda: self._running == 0)

    def stop(self) -> None:
        """Ask running work to let go after its current step (:func:`others_waiting` says so), and wait for it."""
        self.stopping.set()
        self.join()
        self._executor.shutdown(wait=True)


def hand_off(func, *args):
    """Run ``func(*args)`` on one of this worker's run threads and return None at once; outside
    a worker, or with a single run thread, run it now and return what it returns.

    Call it from an RQ job whose work is mostly waiting on a provider. ``func`` runs inside the
    app context, with the job's request id in its log lines; an exception it raises is logged.
    It must be work a reconcile finds again if the process dies (see the module's doc).
    """
    from rq import get_current_job  # imported by jobs only: not paid by every process start

    threads = current_app.extensions.get(EXTENSION)
    job = get_current_job()
    if threads is None or job is None or threads.size <= 1:
        return func(*args)
    threads.submit(func, args, job.origin)
    return None


def others_waiting() -> bool | None:
    """In a worker: whether other jobs wait in the queue this work came from, or the worker is
    stopping — either way a long run should let go after its current step. None outside a worker."""
    from rq import Queue, get_current_job

    threads = current_app.extensions.get(EXTENSION)
    if threads is not None and threads.stopping.is_set():
        return True
    job = get_current_job()
    origin = _ORIGIN.get() or (job.origin if job is not None else None)
    redis_client = current_app.extensions.get("connectors.redis")
    if origin is None or redis_client is None:
        return None
    return Queue(origin, connection=redis_client).count > 0
