"""``connectors worker``: RQ workers that run jobs inside the app, retry on schedule, and reconcile.

Each worker is an RQ ``SimpleWorker`` (jobs run in the worker process, ~6x cheaper than
forking per job) that pushes a fresh app context around every job and runs RQ's scheduler,
which re-enqueues jobs that returned :class:`rq.Retry` when their time comes. ``--concurrency
N`` forks N such workers, each with ``--threads T`` run threads for the work jobs hand off
(:mod:`core.run_threads`: a sync round waits ~100 ms on the provider; T of them are in flight per
worker instead of one). Every worker also runs a reconcile ticker: at most once per
``reconcile_every`` seconds across all workers (a Redis key decides which), it calls every
plugin's ``reconcile`` hook, so a lost enqueue or a killed worker's job is picked up again.
When Redis goes away (a restart), the worker starts again once it answers instead of exiting.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker

from core.logs import REQUEST_ID
from core.run_threads import EXTENSION, RunThreads

log = logging.getLogger(__name__)

TICK_KEY = "connectors:reconcile:tick"
#: Seconds between attempts to start a worker again after Redis went away.
RECONNECT = 1.0


class AppWorker(SimpleWorker):
    """A SimpleWorker that runs each job inside a fresh app context of ``app``."""

    app = None

    def execute_job(self, job, queue):
        """Run ``job`` with the app context pushed and its request id in the log context."""
        REQUEST_ID.set(job.meta.get("request_id"))
        with self.app.app_context():
            return super().execute_job(job, queue)


def reconcile_now(app) -> dict:
    """Call every plugin's ``reconcile`` hook in one transaction; return the summed counts."""
    counts: dict[str, int] = {}
    with app.app_context():
        with app.extensions["connectors.db"].session_scope() as session:
            registry = app.extensions["connectors.registry"]
            for result in registry.hook.reconcile(session=session, platform=registry.platform):
                for name, value in (result or {}).items():
                    counts[name] = counts.get(name, 0) + value
    return counts


def _ticker(app, every: float, stop: threading.Event) -> None:
    redis_client = app.extensions["connectors.redis"]
    while not stop.wait(every):
        try:
            if redis_client.set(TICK_KEY, os.getpid(), nx=True, px=int(every * 1000)):
                log.info("Periodic reconcile: %s", reconcile_now(app))
        except Exception as exc:  # Redis or the database away for a moment: try next tick
            log.warning("Periodic reconcile failed: %s", type(exc).__name__)


def work(app, queues: list[str], *, burst: bool = False, reconcile_every: float = 60.0, threads: int = 1) -> bool:
    """Run one worker on ``queues`` until stopped (or, with ``burst``, until they are empty and
    no handed-off work runs), with ``threads`` run threads for handed-off work."""
    redis_client = app.extensions["connectors.redis"]
    stop = threading.Event()
    if reconcile_every > 0 and not burst:
        threading.Thread(target=_ticker, args=(app, reconcile_every, stop), daemon=True, name="reconcile").start()
    worker_class = type("ConnectorsWorker", (AppWorker,), {"app": app})
    run_threads = app.extensions[EXTENSION] = RunThreads(app, threads)
    try:
        while True:
            worker = worker_class([Queue(name, connection=redis_client) for name in queues], connection=redis_client)
            try:
                worked = worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
                if not burst:
                    return worked
                run_threads.join()  # handed-off work may queue follow-ups: a burst ends when none is left
                if not any(Queue(name, connection=redis_client).count for name in queues):
                    return worked
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if burst:
                    raise
                # Redis restarting: RQ's worker gives up; a new one registers once Redis answers again
                # (what Redis lost meanwhile, the periodic reconcile enqueues again).
                log.warning("Lost Redis (%s); a new worker starts in %s s", type(exc).__name__, RECONNECT)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # nothing runs now: stop at once if asked
                signal.signal(signal.SIGINT, signal.default_int_handler)
                time.sleep(RECONNECT)
    finally:
        stop.set()
        run_threads.stop()  # running work lets go after its current step (others_waiting() says so)
        app.extensions.pop(EXTENSION, None)


def _child(app, queues, burst, reconcile_every, threads) -> None:
    app.extensions["connectors.db"].engine.dispose(close=False)
    work(app, queues, burst=burst, reconcile_every=reconcile_every, threads=threads)


def run(app, queues: list[str], *, burst: bool = False, concurrency: int = 1, reconcile_every: float = 60.0,
        threads: int = 1) -> int:
    """Run ``concurrency`` workers (forked when more than one), each with ``threads`` run threads;
    return an exit status."""
    if app.extensions.get("connectors.redis") is None:
        raise RuntimeError("connectors worker needs REDIS_URL (without it jobs run in-process, no worker needed)")
    if concurrency <= 1:
        work(app, queues, burst=burst, reconcile_every=reconcile_every, threads=threads)
        return 0
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_child, args=(app, queues, burst, reconcile_every, threads),
                                name=f"worker-{i}")
                for i in range(concurrency)]
    for child in children:
        child.start()

    def forward(signum, _frame):
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)
