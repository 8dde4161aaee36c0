"""Transient and permanent Google failures, in both modes: in-process (the embedded default) and workers.

In-process, a job that returns ``rq.Retry`` runs again from core's in-process scheduler; with
Redis, RQ's scheduler in ``connectors worker`` does it. Either way a transient error heals by
itself — no reconcile, no operator — and nothing is lost or duplicated.
"""
from __future__ import annotations

import pytest

from tests.conftest import connect_google
from tests.sync.conftest import CALENDAR, appointment, new_appointment, synced, wait_until


@pytest.fixture(params=["inline", "workers"])
def deployed(request, database_url):
    """The platform in either mode, on each database; in worker mode with one ``connectors worker`` running."""
    if request.param == "inline":
        return request.getfixturevalue("platform"), ""
    platform, workers = request.getfixturevalue("worker_platform"), request.getfixturevalue("workers")
    workers.start("--reconcile-every", "0")
    return platform, workers


def test_transient_errors_heal_by_themselves(deployed, fake_google):
    platform, workers = deployed
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    fake_google.inject(503, times=2, path_contains="/events")
    fake_google.inject(429, times=1, path_contains="/events")
    made = [new_appointment(platform, alice, f"Visit {n}", hour=8 + n) for n in range(3)]
    for item in made:
        wait_until(synced(platform, alice, item["id"]), timeout=30, what=f"retries\n{workers and workers.logs()}")
    events = fake_google.events("alice@example.com", include_deleted=True)
    assert sorted(e["summary"] for e in events) == ["Visit 0", "Visit 1", "Visit 2"]
    assert all(appointment(platform, alice, item["id"])["sync_error"] is None for item in made)
    assert fake_google.quota_errors == 0


def test_revoked_grant_needs_reauth_then_resumes(deployed, fake_google):
    platform, workers = deployed
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    fake_google.revoke_grant("alice@example.com")
    created = new_appointment(platform, alice, "Waits for consent")
    wait_until(lambda: alice.get(platform.api(CALENDAR)).json()["status"] == "needs_reauth",
               what=f"needs_reauth\n{workers and workers.logs()}")
    assert "reconnect" in alice.get(platform.api(CALENDAR)).json()["last_error"]
    assert appointment(platform, alice, created["id"])["sync_status"] == "pending"
    before = fake_google.calendar_calls
    new_appointment(platform, alice, "Also waits", hour=10)
    assert fake_google.calendar_calls == before

    connect_google(platform, alice, fake_google, "alice@example.com")
    wait_until(synced(platform, alice, created["id"]), what=f"resumed sync\n{workers and workers.logs()}")
    wait_until(lambda: len(fake_google.events("alice@example.com")) == 2, what="both events")
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == ["Also waits", "Waits for consent"]
