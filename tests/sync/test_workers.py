"""Sync through Redis and real ``connectors worker`` processes."""
from __future__ import annotations

import os
import signal

import pytest
from redis import Redis
from rq import Queue

from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, CALENDAR, appointment, new_appointment, synced, wait_until


def test_worker_lifecycle_and_coalescing(worker_platform, workers, fake_google, redis_url):
    alice = worker_platform.browser("alice", "org-a")
    connect_google(worker_platform, alice, fake_google, "alice@example.com")
    queue = Queue("connectors", connection=Redis.from_url(redis_url))
    queue.empty()  # the connection's own sync job: this test counts the appointments' jobs
    created = new_appointment(worker_platform, alice, "Draft")
    for n in range(4):
        response = alice.patch(worker_platform.api(f"{APPOINTMENTS}/{created['id']}"), json={"title": f"Edit {n}"})
        assert response.status_code == 200
    assert appointment(worker_platform, alice, created["id"])["sync_status"] == "pending"
    early = new_appointment(worker_platform, alice, "Cancelled early", hour=11)
    alice.delete(worker_platform.api(f"{APPOINTMENTS}/{early['id']}"))
    assert queue.count == 1  # two appointments, six changes: one waiting job for alice's sync
    before = fake_google.calendar_calls

    workers.start("--reconcile-every", "0")
    wait_until(synced(worker_platform, alice, created["id"]), what="the first sync\n" + workers.logs())
    wait_until(synced(worker_platform, alice, early["id"], "deleted"), what="the early cancel")
    assert fake_google.calendar_calls - before == 2  # one batch: the insert, and the early cancel's delete (404)
    [event] = fake_google.events("alice@example.com")
    assert event["summary"] == "Edit 3"
    # The job let go of its marker as it started: the next change is queued (and synced) again.
    alice.patch(worker_platform.api(f"{APPOINTMENTS}/{created['id']}"), json={"title": "Edit 4"})
    wait_until(lambda: fake_google.events("alice@example.com")[0]["summary"] == "Edit 4", what="the next change")


def test_sigkill_mid_call_then_restart_makes_exactly_one_event(worker_platform, workers, fake_google):
    alice = worker_platform.browser("alice", "org-a")
    connect_google(worker_platform, alice, fake_google, "alice@example.com")
    fake_google.latency = 1.0
    first = workers.start("--reconcile-every", "1")
    created = new_appointment(worker_platform, alice, "Survives a crash")
    wait_until(lambda: fake_google.count("/events", method="POST"), what="the insert to reach Google")
    workers.kill(first)
    assert appointment(worker_platform, alice, created["id"])["sync_status"] == "pending"
    wait_until(lambda: fake_google.events("alice@example.com"), what="the killed call to land anyway")
    fake_google.latency = 0.0

    workers.start("--reconcile-every", "1")
    wait_until(synced(worker_platform, alice, created["id"]), timeout=30, what="recovery\n" + workers.logs())
    [event] = fake_google.events("alice@example.com", include_deleted=True)
    assert event["id"] == appointment(worker_platform, alice, created["id"])["external_event_id"]


def test_redis_down_while_creating_then_reconcile_syncs_all(worker_platform, workers, fake_google, redis_server):
    alice = worker_platform.browser("alice", "org-a")
    connect_google(worker_platform, alice, fake_google, "alice@example.com")
    redis_server.stop()
    try:
        made = [new_appointment(worker_platform, alice, f"While Redis is down {n}", hour=8 + n) for n in range(3)]
        moved = alice.patch(worker_platform.api(f"{APPOINTMENTS}/{made[0]['id']}"), json={"title": "Moved"})
        assert moved.status_code == 200
    finally:
        redis_server.start()
    assert all(appointment(worker_platform, alice, m["id"])["sync_status"] == "pending" for m in made)

    result = workers.run("sync", "reconcile")
    assert result.returncode == 0, result.stderr
    assert '"google_calendar_stale_links": 3' in result.stdout
    workers.start("--burst")
    for item in made:
        wait_until(synced(worker_platform, alice, item["id"]), what="reconciled sync\n" + workers.logs())
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == [
        "Moved", "While Redis is down 1", "While Redis is down 2"]


def test_many_users_in_parallel_under_shared_quota(worker_env, start_platform, workers, fake_google):
    fake_google.quota_user_per_min, fake_google.quota_project_per_min = 120, 600  # as strict as ours
    for n in range(4):
        fake_google.add_account(f"user{n}@example.com")
    quotas = {"GOOGLE_CALENDAR_QUOTA_USER_PER_MIN": "120", "GOOGLE_CALENDAR_QUOTA_PROJECT_PER_MIN": "600"}
    platform = start_platform({**worker_env, **quotas})
    workers.env.update(quotas)
    browsers = [platform.browser(f"user{n}", "org-q") for n in range(4)]
    for n, browser in enumerate(browsers):
        connect_google(platform, browser, fake_google, f"user{n}@example.com")
        browser.patch(platform.api("/api/v1/connectors/google_calendar/settings"), json={"sync_enabled": False})
    made = [(browser, new_appointment(platform, browser, f"Slot {i}", hour=i % 20))
            for browser in browsers for i in range(6)]
    for browser in browsers:
        browser.patch(platform.api("/api/v1/connectors/google_calendar/settings"), json={"sync_enabled": True})
    workers.start("--concurrency", "2", "--reconcile-every", "0")
    for browser, item in made:
        wait_until(synced(platform, browser, item["id"]), timeout=30, what="parallel sync\n" + workers.logs())
    assert fake_google.quota_errors == 0
    assert all(len(fake_google.events(f"user{n}@example.com")) == 6 for n in range(4))


def test_users_are_served_in_turn(worker_env, start_platform, workers, fake_google):
    quotas = {"GOOGLE_CALENDAR_QUOTA_USER_PER_MIN": "6000"}  # rounds of 50 calls (one batch)
    platform = start_platform({**worker_env, **quotas})
    workers.env.update(quotas)
    fake_google.add_account("bob@example.com")
    browsers = {name: platform.browser(name, "org-t") for name in ("alice", "bob")}
    for name, browser in browsers.items():
        connect_google(platform, browser, fake_google, f"{name}@example.com")
        browser.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": False})
    for name, browser in browsers.items():
        for i in range(60):
            new_appointment(platform, browser, f"{name} {i}", hour=i % 20, allow_conflict=True)
    for browser in browsers.values():
        browser.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": True})
    workers.start("--concurrency", "1", "--threads", "1", "--reconcile-every", "0")
    wait_until(lambda: all(len(fake_google.events(f"{name}@example.com")) == 60 for name in browsers),
               timeout=30, what="both users synced\n" + workers.logs())
    events = sorted((int(e["etag"].strip('"')), e["summary"].split()[0])
                    for name in browsers for e in fake_google.events(f"{name}@example.com"))
    turns = [owner for n, (_, owner) in enumerate(events) if n == 0 or events[n - 1][1] != owner]
    assert turns == ["alice", "bob", "alice", "bob"]  # 50 each in turn, then the rest; not 60 then 60


@pytest.mark.parametrize("threads", [1, 3])
def test_a_worker_has_several_users_rounds_in_flight(worker_env, start_platform, workers, fake_google, threads):
    platform = start_platform(worker_env)
    browsers = {name: platform.browser(name, "org-r") for name in ("alice", "bob", "carol")}
    for name, browser in browsers.items():
        if name != "alice":
            fake_google.add_account(f"{name}@example.com")
        connect_google(platform, browser, fake_google, f"{name}@example.com")
        browser.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": False})
        for i in range(2):
            new_appointment(platform, browser, f"{name} {i}", hour=9 + i)
    for browser in browsers.values():
        browser.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": True})
    fake_google.latency, fake_google.max_in_flight = 0.5, 0
    workers.start("--concurrency", "1", "--threads", str(threads), "--reconcile-every", "0")
    wait_until(lambda: all(len(fake_google.events(f"{name}@example.com")) == 2 for name in browsers),
               timeout=60, what="every user synced\n" + workers.logs())
    # one worker process: one call at a time with one run thread; several users' batches at once with three
    assert fake_google.max_in_flight == 1 if threads == 1 else fake_google.max_in_flight >= 2


@pytest.mark.parametrize("change", ["new appointment", "edit of the one in flight"])
def test_changes_whose_jobs_find_the_run_busy_are_synced_by_that_run(worker_env, start_platform, workers,
                                                                     fake_google, redis_url, change):
    """A change committed while its user's run has a round in flight — a new appointment, or an edit of
    the one in flight, whose link is stale already — is synced by that run: the change's job finds the
    lease taken and knocks, and the run, letting go, looks again (no reconcile runs here)."""
    platform = start_platform(worker_env)
    alice = platform.browser("alice", "org-k")
    connect_google(platform, alice, fake_google, "alice@example.com")
    queue = Queue("connectors", connection=Redis.from_url(redis_url))
    workers.start("--concurrency", "1", "--threads", "2", "--reconcile-every", "0")
    wait_until(lambda: queue.count == 0, what="the connection's jobs\n" + workers.logs())
    inserts = fake_google.count("/events", method="POST")
    fake_google.latency = 1.5
    made = [new_appointment(platform, alice, "First", hour=9)]
    wait_until(lambda: fake_google.count("/events", method="POST") > inserts, what="the first insert in flight")
    if change == "new appointment":
        made.append(new_appointment(platform, alice, "Second", hour=10))
    else:
        edited = alice.patch(platform.api(f"{APPOINTMENTS}/{made[0]['id']}"), json={"title": "First, renamed"})
        assert edited.status_code == 200, edited.text
    wait_until(lambda: queue.count == 0, what="the change's job taken")
    assert fake_google.count("/events", method="POST") == inserts + 1  # taken while the first round was in flight
    for item in made:
        wait_until(synced(platform, alice, item["id"]), timeout=20, what="every change synced\n" + workers.logs())
    summaries = sorted(event["summary"] for event in fake_google.events("alice@example.com"))
    assert summaries == (["First", "Second"] if change == "new appointment" else ["First, renamed"])


def test_sigterm_ends_the_runs_after_their_round_and_queues_them_again(worker_env, start_platform, workers,
                                                                       fake_google, redis_url):
    """A stop (SIGTERM, as a host sends on a deploy) lets the round in flight finish and be recorded;
    the run then lets go (``others_waiting``) and its user's job waits in the queue for the next worker."""
    quotas = {"GOOGLE_CALENDAR_QUOTA_USER_PER_MIN": "60"}  # one call per round, about one round a second
    platform = start_platform({**worker_env, **quotas})
    workers.env.update(quotas)
    alice = platform.browser("alice", "org-s")
    connect_google(platform, alice, fake_google, "alice@example.com")
    alice.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": False})
    made = [new_appointment(platform, alice, f"Round {n}", hour=9 + n) for n in range(3)]
    queue = Queue("connectors", connection=Redis.from_url(redis_url))
    process = workers.start("--reconcile-every", "0")
    wait_until(lambda: queue.count == 0, what="the connection's jobs\n" + workers.logs())
    inserts = fake_google.count("/events", method="POST")
    fake_google.latency = 2.0
    alice.patch(platform.api(f"{CALENDAR}/settings"), json={"sync_enabled": True})
    wait_until(lambda: fake_google.count("/events", method="POST") > inserts, what="the first insert in flight")
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0, workers.logs()
    statuses = [appointment(platform, alice, item["id"])["sync_status"] for item in made]
    assert statuses.count("synced") == 1 and statuses.count("pending") == 2  # the round in flight, recorded
    assert queue.count == 1  # the rest waits for the next worker
    fake_google.latency = 0.0
    workers.start("--reconcile-every", "0")
    for item in made:
        wait_until(synced(platform, alice, item["id"]), what="the next worker's run\n" + workers.logs())
