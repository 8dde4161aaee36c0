"""Time to calendar: from the commit of a change to the fake Google Calendar holding it, under a steady load.

    .venv/bin/python benchmarks/time_to_calendar.py                 # half the project quota, 100 ms latency
    .venv/bin/python benchmarks/time_to_calendar.py --workers 8 --users 20
    .venv/bin/python benchmarks/time_to_calendar.py --threads 1     # one round in flight per worker

A process of its own creates appointments (through ``core.appointments``, one transaction and
one enqueue each, as the API does) at a steady rate — ``--load`` of the project quota, spread
round-robin over ``--users`` users — for ``--seconds``, while ``connectors worker`` processes
sync them to the fake Google (``--latency`` per HTTP request, the platform's quotas enforced).
The changes begin once the workers have done the jobs of connecting the users (push channels,
a first sync run: about 0.2 s of a worker each), so the figures are those of a steady state,
not of a platform still busy connecting 100 accounts.
For every appointment, the time from its commit (wall clock, taken right after the commit) to
the creation of its event in the fake (the ``created`` stamp Google sets, to the millisecond;
the fake's latency is before it) gives p50, p90, p99 and the maximum, and the p50 of each half
of the changes: a second half much slower than the first means the load exceeds what the
workers carry (the delay grows without bound), not a delay of the design. The workers' CPU
time over the changes says what share of a CPU they needed; RQ's records of the finished jobs,
how long a sync job waited in the queue and what share of their time the workers spent between
jobs (finishing one and taking the next, or waiting for one): a wait in the queue much longer
than a round, with the workers nearly always between jobs, means RQ's own work in the worker
processes binds, not the run threads.

The baseline measured in the same run is the floor of any design: one insert sent straight to
the fake, alone, as soon as it is known (``--latency`` plus the client's own cost); the figures
are also given as ratios to it.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sync_throughput import START, Stack, idle, settled, wait_while_running  # noqa: E402
from tests.services import RedisServer, find_or_start_postgres  # noqa: E402


def submit(env: dict, users: list, count: int, rate: float, done) -> None:
    """Process target: create ``count`` appointments at ``rate`` per second (round-robin over
    ``users``); put ``{appointment id: commit time}`` on ``done``."""
    from core import appointments
    from core.app import create_app

    app = create_app(env)
    registry, db = app.extensions["connectors.registry"], app.extensions["connectors.db"]
    committed: dict[int, float] = {}
    began = time.monotonic()
    with app.app_context():
        for n in range(count):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # a steady arrival rate, as many API clients would make it
            user = users[n % len(users)]
            starts = START + timedelta(minutes=30 * n)
            with db.session_scope() as session:
                made = appointments.create(session, registry, user, {
                    "title": f"Appointment {n}", "starts_at": starts, "ends_at": starts + timedelta(minutes=25),
                    "timezone": "Europe/Paris"})
                session.flush()
                made_id = made.id
            committed[made_id] = time.time()
    done.put((committed, time.monotonic() - began))


def direct_inserts(stack: Stack, count: int) -> list[float]:
    """Seconds each of ``count`` single inserts takes sent straight to the fake (the floor)."""
    from googleapiclient.discovery import build

    from plugins import google

    stack.fake.add_account("floor@example.com")
    token = stack.fake.issue_token("floor@example.com")["access_token"]
    events = build("calendar", "v3", static_discovery=True, cache_discovery=False,
                   client_options={"api_endpoint": stack.fake.url + "/calendar/v3/"},
                   http=google.authorized_http(token)).events()
    took = []
    for n in range(count):
        starts = START + timedelta(minutes=30 * n)
        body = {"summary": f"Floor {n}", "start": {"dateTime": starts.isoformat()},
                "end": {"dateTime": (starts + timedelta(minutes=25)).isoformat()}}
        began = time.monotonic()
        events.insert(calendarId="primary", body=body).execute(http=google.authorized_http(token))
        took.append(time.monotonic() - began)
    return took


def cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of process group ``group``."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at fields 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def job_times(redis_client, since: float, until: float) -> tuple[list[float], float, int]:
    """From RQ's own records of the finished jobs started between ``since`` and ``until`` (wall
    clock): each ``sync_user`` job's wait in the queue (enqueued to started), the share of the
    workers' time spent between jobs (finishing one and taking the next, or an empty queue) and
    how many jobs there were."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    def stamp(moment: datetime) -> float:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    queue = Queue("connectors", connection=redis_client)
    jobs = [job for job in Job.fetch_many(FinishedJobRegistry(queue=queue).get_job_ids(), redis_client)
            if job is not None and job.started_at and job.ended_at and since <= stamp(job.started_at) <= until]
    waits = [stamp(job.started_at) - stamp(job.enqueued_at) for job in jobs if "sync_user" in job.description]
    by_worker: dict[str, list[tuple[float, float]]] = {}
    for job in jobs:
        by_worker.setdefault(job.worker_name, []).append((stamp(job.started_at), stamp(job.ended_at)))
    between = 0.0
    for spans in by_worker.values():
        spans.sort()
        between += sum(start - end for (_, end), (start, _) in itertools.pairwise(spans))
    return waits, between / ((until - since) * max(1, len(by_worker))), len(jobs)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Parse the options, run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="run threads per worker (connectors worker --threads)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the fake waits per HTTP request")
    parser.add_argument("--project-quota", type=int, default=10_000, help="per minute")
    parser.add_argument("--user-quota", type=int, default=600, help="per minute per user")
    parser.add_argument("--load", type=float, default=0.5, help="share of the project quota the changes need")
    parser.add_argument("--seconds", type=float, default=30, help="how long the changes keep coming")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    rate = args.load * args.project_quota / 60
    count = round(rate * args.seconds)

    redis_server = RedisServer("redis-server", Path(tempfile.mkdtemp(prefix="bench-redis-")))
    redis_server.start()
    with contextlib.ExitStack() as resources:
        workdir = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        if args.postgres:
            database = resources.enter_context(resources.enter_context(find_or_start_postgres()).temporary_database())
        else:
            database = f"sqlite:///{workdir / 'connectors.db'}"
        args.changes = count
        stack = Stack(workdir, database, redis_server.url, args, args.users)
        floor = direct_inserts(stack, 30)
        process = stack.workers(args.workers, threads=args.threads)
        setup_took = idle(stack, process)
        cpu_before, calls_before = cpu_seconds(process.pid), stack.fake.calendar_calls
        done = multiprocessing.Queue()
        submitter = multiprocessing.Process(target=submit, args=(stack.env, stack.users, count, rate, done))
        submitter.start()
        committed, submitted = done.get()
        submitter.join()
        wait_while_running(process, lambda: not settled(stack)[0], "draining")
        worker_cpu, calls = cpu_seconds(process.pid) - cpu_before, stack.fake.calendar_calls - calls_before
        queue_waits, between, jobs = job_times(stack.app.extensions["connectors.redis"], min(committed.values()),
                                         max(committed.values()))
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        received = {}
        for n in range(args.users):
            for event in stack.fake.events(f"user{n}@example.com"):
                appointment_id = int(event["extendedProperties"]["private"]["connectors_appointment_id"])
                received[appointment_id] = datetime.fromisoformat(event["created"].replace("Z", "+00:00")).timestamp()
        quota_errors = stack.fake.quota_errors
        stack.close()
    redis_server.stop()

    waits = [received[i] - at for i, at in committed.items()]
    base = statistics.median(floor)
    print(f"{count} appointments over {args.users} users in {submitted:.1f} s ({count / submitted:.0f}/s, "
          f"{args.load:.0%} of the project quota {args.project_quota}/min), {args.workers} workers x "
          f"{args.threads} run threads, "
          f"fake latency {args.latency * 1000:.0f} ms, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"connecting the users: their jobs took the workers {setup_took:.1f} s before the changes began")
    print(f"baseline: one insert sent straight to the fake  p50 {base * 1000:6.0f} ms")
    for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        value = percentile(waits, share)
        print(f"time to calendar {name:<30} {value * 1000:6.0f} ms   ({value / base:.1f} x the baseline)")
    order = sorted(committed, key=committed.get)
    halves = [[received[i] - committed[i] for i in part] for part in (order[:count // 2], order[count // 2:])]
    first, second = statistics.median(halves[0]), statistics.median(halves[1])
    verdict = "growing: more than the workers carry" if second > 1.5 * first else "holding"
    print(f"p50 of the first half of the changes {first * 1000:.0f} ms, of the second {second * 1000:.0f} ms "
          f"({verdict})")
    print(f"workers' CPU {worker_cpu:.1f} s: {worker_cpu / count * 1000:.1f} ms per appointment, "
          f"{worker_cpu / submitted:.2f} CPUs while the changes came; {calls} calls")
    wait_p50, wait_p99 = (percentile(queue_waits or [0.0], share) * 1000 for share in (0.5, 0.99))
    print(f"jobs started while the changes came {jobs}; a sync job's wait in the queue p50 {wait_p50:.0f} ms, "
          f"p99 {wait_p99:.0f} ms; the workers spent {between:.0%} of that time between jobs (finishing one "
          "and taking the next, or waiting for one)")
    missing = count - len(set(committed) & set(received))
    print(f"events missing {missing}, quota errors {quota_errors} (goal: p99 < 2 s)")


if __name__ == "__main__":
    main()
