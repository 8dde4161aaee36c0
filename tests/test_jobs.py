"""core.dispatch_in: work enqueued (worker mode) or run (in-process) after a delay shorter than RQ's whole seconds."""
from __future__ import annotations

from redis import Redis
from rq import Queue

from core import dispatch_in
from core.app import create_app
from core.jobs import QUEUE_NAME
from tests.conftest import platform_env
from tests.sync.conftest import wait_until

RAN: list[str] = []


def remember(value: str) -> None:
    """The job: what it was given goes to :data:`RAN`."""
    RAN.append(value)


def test_dispatch_in_enqueues_when_due_with_the_options(tmp_path, redis_url):
    app = create_app(platform_env(f"sqlite:///{tmp_path / 'c.db'}", REDIS_URL=redis_url),
                     instance_path=str(tmp_path / "instance"))
    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    queue.enqueue_call(remember, args=("already waiting",))
    with app.app_context():
        dispatch_in(0.3, remember, "later", at_front=True)
        dispatch_in(0.3, remember, "later", at_front=True)  # the same job waits once
    assert queue.count == 1  # not yet: it is enqueued when due, not scheduled in RQ's registry
    wait_until(lambda: queue.count == 2, what="the job to be enqueued")
    first, second = queue.jobs
    assert (first.args, second.args) == (("later",), ("already waiting",))  # at_front honoured
    assert RAN == []  # enqueued, not run: a worker runs it


def test_dispatch_in_runs_in_process_without_redis(tmp_path):
    app = create_app(platform_env(f"sqlite:///{tmp_path / 'c.db'}"), instance_path=str(tmp_path / "instance"))
    RAN.clear()
    with app.app_context():
        dispatch_in(0.2, remember, "in-process")
    wait_until(lambda: RAN == ["in-process"], what="the job to run in this process")
