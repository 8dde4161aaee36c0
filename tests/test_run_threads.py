"""core.hand_off: a worker runs handed-off work on its run threads, several at once, and a burst
worker ends only once that work and what it queued are done; core.dispatch_in's long waits go
to RQ's scheduler."""
from __future__ import annotations

import signal
import threading

import pytest

from redis import Redis
from rq import Queue

from core import dispatch, dispatch_in, hand_off, others_waiting
from core.app import create_app
from core.jobs import QUEUE_NAME
from core.run_threads import EXTENSION, RunThreads
from core.worker import work
from tests.conftest import platform_env

#: What the handed-off work saw, in order.
SEEN: list = []
#: Work handed off by two jobs meets here: only threads running side by side get through.
MEETING = threading.Barrier(2, timeout=10)


def meet(name: str) -> None:
    """Handed-off work: wait for the other one at :data:`MEETING`, then queue a follow-up job."""
    try:
        MEETING.wait()
        SEEN.append(("met", name, threading.current_thread().name))
    except threading.BrokenBarrierError:
        SEEN.append(("alone", name, threading.current_thread().name))
    dispatch(follow_up, name)


def follow_up(name: str) -> None:
    """RQ job queued by handed-off work."""
    SEEN.append(("follow-up", name))


def meeting_job(name: str):
    """RQ job: hand :func:`meet` off."""
    return hand_off(meet, name)


def look_around() -> None:
    """Handed-off work: note whether other jobs wait."""
    SEEN.append(("others waiting", others_waiting()))


def looking_job():
    """RQ job: hand :func:`look_around` off."""
    return hand_off(look_around)


@pytest.fixture(autouse=True)
def _signal_handlers():
    """A worker run in the test process installs its SIGINT/SIGTERM handlers: put pytest's back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _app(tmp_path, redis_url):
    return create_app(platform_env(f"sqlite:///{tmp_path / 'c.db'}", REDIS_URL=redis_url),
                      instance_path=str(tmp_path / "instance"))


def _queue(redis_url) -> Queue:
    redis_client = Redis.from_url(redis_url)
    redis_client.flushdb()
    return Queue(QUEUE_NAME, connection=redis_client)


def test_a_worker_runs_handed_off_work_side_by_side_and_a_burst_waits_for_it(tmp_path, redis_url):
    app, queue = _app(tmp_path, redis_url), _queue(redis_url)
    SEEN.clear()
    MEETING.reset()
    queue.enqueue(meeting_job, "a")
    queue.enqueue(meeting_job, "b")
    work(app, [QUEUE_NAME], burst=True, threads=2)
    met = sorted(entry for entry in SEEN if entry[0] != "follow-up")
    assert [entry[:2] for entry in met] == [("met", "a"), ("met", "b")]
    assert met[0][2] != met[1][2] and all(entry[2].startswith("run") for entry in met)  # two run threads
    # the burst ended after the follow-ups the handed-off work queued, not when the queue first emptied
    assert sorted(entry for entry in SEEN if entry[0] == "follow-up") == [("follow-up", "a"), ("follow-up", "b")]
    assert queue.count == 0


def test_one_run_thread_runs_the_work_in_the_job(tmp_path, redis_url, monkeypatch):
    app, queue = _app(tmp_path, redis_url), _queue(redis_url)
    SEEN.clear()
    monkeypatch.setattr(f"{__name__}.MEETING", threading.Barrier(2, timeout=0.5))
    queue.enqueue(meeting_job, "a")
    queue.enqueue(meeting_job, "b")
    work(app, [QUEUE_NAME], burst=True, threads=1)
    assert [entry[:2] for entry in SEEN if entry[0] != "follow-up"] == [("alone", "a"), ("alone", "b")]
    assert all(entry[2] == threading.current_thread().name for entry in SEEN if entry[0] == "alone")


def test_handed_off_work_knows_whether_other_jobs_wait(tmp_path, redis_url):
    app, queue = _app(tmp_path, redis_url), _queue(redis_url)
    SEEN.clear()
    queue.enqueue(looking_job)
    queue.enqueue(follow_up, "behind")  # waits while the first job's work (in the job: one thread) looks around
    work(app, [QUEUE_NAME], burst=True, threads=1)
    assert SEEN == [("others waiting", True), ("follow-up", "behind")]
    SEEN.clear()
    queue.enqueue(looking_job)
    work(app, [QUEUE_NAME], burst=True, threads=2)  # on a run thread, nothing behind
    assert SEEN == [("others waiting", False)]
    with app.app_context():
        assert others_waiting() is None  # outside a worker
        assert hand_off(len, "abc") == 3  # outside a worker the work runs now and gives its result
        app.extensions[EXTENSION] = RunThreads(app, 2)
        app.extensions[EXTENSION].stopping.set()
        assert others_waiting() is True  # a stopping worker: let go after the current step


def test_dispatch_in_sends_long_waits_to_rqs_scheduler(tmp_path, redis_url):
    app, queue = _app(tmp_path, redis_url), _queue(redis_url)
    with app.app_context():
        dispatch_in(30, follow_up, "much later", at_front=True, coalesce="ignored for long waits")
    assert queue.count == 0
    (job_id,) = queue.scheduled_job_registry.get_job_ids()
    job = queue.fetch_job(job_id)
    assert job.args == ("much later",) and job.enqueue_at_front
