"""Sync throughput: N appointment changes drained to the fake Google Calendar under quotas.

    .venv/bin/python benchmarks/sync_throughput.py            # 10,000 changes over 100 users
    .venv/bin/python benchmarks/sync_throughput.py --quick    # 1,000 changes over 20 users (CI size)
    .venv/bin/python benchmarks/sync_throughput.py --postgres # on PostgreSQL instead of SQLite

Everything is real except Google: a private redis-server, a SQLite file, ``connectors worker``
processes, and the loopback fake with latency and quotas (the platform is told the same
quotas). The changes (creates, edits, cancels, interleaved across users) go through
``core.appointments`` exactly as the API makes them, from a process of their own. The
workload runs twice, on a fresh stack each time: as a *backlog* (every change committed,
then the workers start: the method of the baseline) and *live* (the workers already run while
the changes arrive as fast as one process makes them). In both, the changes begin once the
workers have done the jobs of connecting the users (push channels, a first sync run: about
four per user), so the drain time is that of the changes alone. Printed for each: how long
the connection jobs took; how fast the changes arrived; drain time; the lower bound the quotas
allow (one call per appointment that ends up in a calendar, at the quota rates); their ratio;
the workers' floor (the calls made, in rounds of one second of a user's quota, each taking the
fake's latency, with no other cost: what ``--workers`` could do at best); calendar API calls per
appointment; quota errors the fake returned; the speed-up over a naive baseline (one job and
one Google call per change, the discovery service rebuilt per call) measured on a sample in
the same run and projected to N.
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import appointments, connections  # noqa: E402
from core.app import create_app  # noqa: E402
from core.auth import CurrentUser, user_for_claims  # noqa: E402
from tests.conftest import platform_env  # noqa: E402
from tests.fakes.google import FakeGoogle  # noqa: E402
from tests.services import RedisServer, find_or_start_postgres  # noqa: E402

CONNECTORS = str(Path(sys.executable).parent / "connectors")
START = datetime(2031, 1, 6, 8, tzinfo=UTC)


class Stack:
    """A fake Google, a database and the platform's app, with ``users`` connected to Google Calendar."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str, args, users: int):
        self.fake = FakeGoogle(latency=args.latency)
        self.fake.quota_user_per_min, self.fake.quota_project_per_min = args.user_quota, args.project_quota
        self.fake.start()
        self.env = {**platform_env(database_url, self.fake), "REDIS_URL": redis_url,
                    "CONNECTORS_INSTANCE_PATH": str(workdir / "instance"), "PYTHONPATH": str(ROOT),
                    "GOOGLE_CALENDAR_QUOTA_USER_PER_MIN": str(args.user_quota),
                    "GOOGLE_CALENDAR_QUOTA_PROJECT_PER_MIN": str(args.project_quota)}
        self.app = create_app(self.env)
        self.app.extensions["connectors.db"].upgrade()
        self.users = [self._connect(n) for n in range(users)]

    def _connect(self, n: int) -> CurrentUser:
        ext = self.app.extensions
        spec = ext["connectors.registry"].connector("google_calendar")
        email = f"user{n}@example.com"
        self.fake.add_account(email)
        token = self.fake.issue_token(email, spec.oauth.scopes)
        with self.app.app_context(), ext["connectors.db"].session_scope() as session:
            row = user_for_claims(session, "bench", f"user{n}")
            user = CurrentUser(row.id, row.org_id, row.external_id)
            ext["connectors.credentials"].save_tokens(session, user.id, spec, token)
            connections.activate(session, ext["connectors.registry"], user, spec, email)
        return user

    def workers(self, count: int, queues: str = "connectors", threads: int = 1) -> subprocess.Popen:
        """Start ``connectors worker --concurrency count --threads threads`` on this stack; return
        once all ``count`` have registered with Redis (started and ready)."""
        from rq import Worker

        process = subprocess.Popen([CONNECTORS, "worker", "--queues", queues, "--concurrency", str(count),
                                    "--threads", str(threads), "--reconcile-every", "0"],
                                   env={**os.environ, **self.env},
                                   start_new_session=True, stdout=subprocess.DEVNULL)
        redis = self.app.extensions["connectors.redis"]
        wait_while_running(process, lambda: Worker.count(connection=redis) >= count, "starting")
        return process

    def close(self) -> None:
        """Stop the fake and release the database."""
        self.fake.stop()
        self.app.extensions["connectors.db"].engine.dispose()


def wait_while_running(process: subprocess.Popen, done, what: str) -> None:
    """Poll ``done()`` every 50 ms until it is true; fail if the workers ``process`` exits meanwhile."""
    while not done():
        if process.poll() is not None:
            raise RuntimeError(f"the workers exited with status {process.returncode} ({what})")
        time.sleep(0.05)


def workload(changes: int, users: int, seed: int = 7) -> list[tuple]:
    """Changes round-robin over users: ~80% creates, ~15% edits of earlier ones, ~5% cancels."""
    rng = random.Random(seed)
    made: dict[int, list[int]] = {u: [] for u in range(users)}
    plan, serial = [], 0
    for n in range(changes):
        user = n % users
        roll = rng.random()
        if made[user] and roll < 0.05:
            plan.append(("cancel", user, made[user].pop(rng.randrange(len(made[user])))))
        elif made[user] and roll < 0.20:
            plan.append(("edit", user, rng.choice(made[user])))
        else:
            made[user].append(serial)
            plan.append(("create", user, serial))
            serial += 1
    return plan


def submit(env: dict, users: list, plan, done) -> None:
    """Process target: make every change through ``core.appointments`` with an app of its own,
    one transaction (and one enqueue) each, as an API process would; put on ``done`` when the
    first change began (``time.monotonic()``, the same clock in every process) and when the last
    one was committed. (In its own process, the submission shares no GIL with the fake Google.)"""
    app = create_app(env)
    started = time.monotonic()
    ext = app.extensions
    registry, db = ext["connectors.registry"], ext["connectors.db"]
    ids: dict[int, int] = {}
    with app.app_context():
        for kind, user_index, serial in plan:
            user = users[user_index]
            with db.session_scope() as session:
                if kind == "create":
                    starts = START + timedelta(minutes=30 * serial)
                    made = appointments.create(session, registry, user, {
                        "title": f"Appointment {serial}", "starts_at": starts,
                        "ends_at": starts + timedelta(minutes=25), "timezone": "Europe/Paris"})
                    session.flush()
                    ids[serial] = made.id
                    continue
                row = appointments.get(session, user.org_id, ids[serial])
                if kind == "edit":
                    appointments.update(session, registry, row, {"title": f"{row.title} (edited)"})
                else:
                    appointments.cancel(session, registry, row)
    done.put((started, time.monotonic()))


def settled(stack: Stack) -> tuple[int, int, dict[int, int]]:
    """(links not yet settled, appointments settled, appointments in a calendar per user)."""
    from sqlalchemy import func, select

    from core.models import Appointment
    from plugins.google_calendar.models import CalendarEventLink
    from plugins.google_calendar.links import STALE

    with stack.app.extensions["connectors.db"].session_scope() as session:
        stale = session.scalar(select(func.count()).select_from(CalendarEventLink).join(
            Appointment, Appointment.id == CalendarEventLink.appointment_id).where(STALE))
        done = session.scalar(select(func.count()).select_from(Appointment))
        placed = dict(session.execute(select(Appointment.owner_user_id, func.count()).where(
            Appointment.status == "scheduled").group_by(Appointment.owner_user_id)).all())
    return stale, done, placed


def naive_sync(user_id: int, kind: str, serial: int, body: dict) -> None:
    """Baseline job: one change, one Google call, the discovery service built for this call alone."""
    import httplib2
    from flask import current_app
    from googleapiclient.discovery import build

    from plugins import google

    root = current_app.extensions["connectors.config"].environ["GOOGLE_API_ROOT"]
    token = current_app.extensions["connectors.credentials"].access_token(user_id, "google_calendar")
    events = build("calendar", "v3", http=httplib2.Http(), static_discovery=True, cache_discovery=False,
                   client_options={"api_endpoint": root + "calendar/v3/"}).events()
    event_id = f"naive{serial:08d}"
    request = {"create": lambda: events.insert(calendarId="primary", body={**body, "id": event_id}),
               "edit": lambda: events.patch(calendarId="primary", eventId=event_id, body=body),
               "cancel": lambda: events.delete(calendarId="primary", eventId=event_id)}[kind]()
    request.execute(http=google.authorized_http(token))


def run_naive(stack: Stack, plan, workers: int) -> float:
    """Enqueue one naive job per change and time the drain; return seconds."""
    from rq import Queue

    queue = Queue("naive", connection=stack.app.extensions["connectors.redis"])
    for kind, user_index, serial in plan:
        starts = START + timedelta(minutes=30 * serial)
        body = {"summary": f"Appointment {serial}", "start": {"dateTime": starts.isoformat()},
                "end": {"dateTime": (starts + timedelta(minutes=25)).isoformat()}}
        queue.enqueue("benchmarks.sync_throughput.naive_sync", stack.users[user_index].id, kind, serial, body,
                      result_ttl=0)
    process = stack.workers(workers, "naive")
    started = time.monotonic()
    wait_while_running(process, lambda: stack.fake.calendar_calls >= len(plan), "the baseline")
    elapsed = time.monotonic() - started
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()
    return elapsed


MODES = {"backlog": "backlog (every change committed, then the workers start and the clock with them, as for "
                    "the baseline)",
         "live": "live (workers running while the changes arrive; the clock starts with the first change)"}


def idle(stack: Stack, process) -> float:
    """Wait until the jobs of connecting the users (push channels, a first sync run, another
    calendar connector's retraction: four per user) are done; return how long that took."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    redis = stack.app.extensions["connectors.redis"]
    queue = Queue("connectors", connection=redis)
    began = time.monotonic()
    wait_while_running(process, lambda: queue.count == 0 and StartedJobRegistry(queue=queue).count == 0,
                       "connecting the users")
    return time.monotonic() - began


def stop(process: subprocess.Popen) -> None:
    """Stop the workers ``process`` (its whole process group) and wait for it."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()


def run_ours(stack: Stack, plan, args, live: bool) -> dict:
    """Make the ``plan``'s changes and time until no link is stale; see :data:`MODES`.

    The workers first do the jobs of connecting the users (:func:`idle`); the changes, and the
    clock, begin after them, so the drain is that of the changes alone. For a backlog, the
    workers are then stopped, the changes made, and workers started again."""
    process = stack.workers(args.workers, threads=args.threads)
    connecting = idle(stack, process)
    if not live:
        stop(process)
    calls_before = stack.fake.calendar_calls
    done = multiprocessing.Queue()
    submitter = multiprocessing.Process(target=submit, args=(stack.env, stack.users, plan, done))
    submitter.start()
    started, finished = done.get()
    submitter.join()
    submitted = finished - started
    if not live:
        process = stack.workers(args.workers, threads=args.threads)
        started = time.monotonic()

    def drained() -> bool:
        left = settled(stack)[0]
        print(f"  {time.monotonic() - started:6.1f} s: {left} links to settle", file=sys.stderr, end="\r")
        return not left

    wait_while_running(process, drained, "draining")
    drain = time.monotonic() - started
    stop(process)
    _, appointments_made, placed = settled(stack)
    bound = max(sum(placed.values()) / (args.project_quota / 60), max(placed.values()) / (args.user_quota / 60))
    calls = stack.fake.calendar_calls - calls_before
    # What the workers could do with no cost of their own: a round carries at most one user's
    # bucket (one second of the user's quota) and takes at least the fake's latency; each worker
    # has ``threads`` rounds in flight.
    workers_floor = calls / (args.workers * args.threads * args.user_quota / 60) * args.latency
    result = {"submitted": submitted, "drain": drain, "bound": bound, "done": appointments_made,
              "calls": calls, "quota_errors": stack.fake.quota_errors, "connecting": connecting,
              "workers_floor": workers_floor}
    stack.close()
    return result


def main() -> None:
    """Parse the options, run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="run threads per worker (connectors worker --threads)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the fake waits per HTTP request")
    parser.add_argument("--project-quota", type=int, help="per minute (default: --seconds of work at the quota)")
    parser.add_argument("--seconds", type=float, default=60, help="target drain time for the default quota")
    parser.add_argument("--user-quota", type=int, default=600, help="per minute per user")
    parser.add_argument("--naive-sample", type=int, default=300, help="changes measured for the baseline")
    parser.add_argument("--naive-workers", type=int, default=1, help="worker processes of the baseline")
    parser.add_argument("--quick", action="store_true", help="1,000 changes over 20 users, ~15 s")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL (a temporary database, as the tests find or start one) instead of SQLite")
    args = parser.parse_args()
    if args.quick:
        args.changes, args.users, args.naive_sample, args.seconds = 1_000, 20, 100, 15
    plan = workload(args.changes, args.users)
    creates = sum(1 for kind, *_ in plan if kind == "create")
    args.project_quota = args.project_quota or max(60, round(creates * 60 / args.seconds))

    redis_dir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    redis_server = RedisServer("redis-server", redis_dir)
    redis_server.start()
    with contextlib.ExitStack() as resources:
        postgres = resources.enter_context(find_or_start_postgres()) if args.postgres else None

        def stack() -> Stack:
            redis_server.client().flushall()
            workdir = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            database = (resources.enter_context(postgres.temporary_database()) if postgres
                        else f"sqlite:///{workdir / 'connectors.db'}")
            return Stack(workdir, database, redis_server.url, args, args.users)

        runs = {mode: run_ours(stack(), plan, args, live=mode == "live") for mode in ("backlog", "live")}
        naive = stack()
        sample = workload(args.naive_sample, args.users)
        naive_time = run_naive(naive, sample, args.naive_workers) * len(plan) / len(sample)
        naive_errors = naive.fake.quota_errors
        naive.close()
    redis_server.stop()

    print(f"changes {len(plan)} over {args.users} users ({creates} creates), {args.workers} workers "
          f"x {args.threads} run threads, "
          f"fake latency {args.latency * 1000:.0f} ms, quotas {args.user_quota}/min/user "
          f"{args.project_quota}/min/project")
    print(f"naive baseline (projected)    {naive_time:8.1f} s   {args.naive_workers} worker(s), "
          f"from {len(sample)} changes, {naive_errors} quota errors")
    for mode, run in runs.items():
        print(f"{MODES[mode]}:")
        print(f"  connection jobs (before)    {run['connecting']:8.1f} s   (not in the drain time)")
        print(f"  changes submitted in        {run['submitted']:8.1f} s   ({len(plan) / run['submitted']:.0f}/s)")
        print(f"  drain time                  {run['drain']:8.1f} s")
        print(f"  quota lower bound           {run['bound']:8.1f} s   ratio {run['drain'] / run['bound']:.3f} "
              "(goal <= 1.1)")
        print(f"  workers' floor              {run['workers_floor']:8.1f} s   (calls / (workers x threads x one "
              "bucket of calls per round) x latency)")
        print(f"  calls per settled appt.     {run['calls'] / run['done']:8.3f}    ({run['calls']} calls, "
              f"{run['done']} appointments; goal <= 1.0)")
        print(f"  quota errors from the fake  {run['quota_errors']:8d}     (goal 0)")
        print(f"  speed-up over the baseline  {naive_time / run['drain']:8.1f}x    (goal >= 15x)")


if __name__ == "__main__":
    main()
