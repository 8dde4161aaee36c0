"""A database that lost its last commits (a crash without durable commits, a failover to an
asynchronous standby, a restore) must not leave a cancelled appointment's event in Google.

A run records the event id *before* it inserts; if the database then loses that record (and the
run's result), the link looks as if nothing had ever reached Google. When the appointment is
cancelled, the run must still delete the event its deterministic id names — the scale-out test
found it in Google after a PostgreSQL crash that lost the insert's records.
"""
from __future__ import annotations

from sqlalchemy import text

from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, CALENDAR, appointment, new_appointment


def lose_the_run_commits(platform, appointment_id: int) -> None:
    """Put the link back as it was before the run claimed and inserted its event (its commits lost)."""
    with platform.ext("db").engine.begin() as conn:
        conn.execute(text("UPDATE calendar_event_links SET external_event_id = NULL, calendar_id = NULL, "
                          "synced_version = 0, sync_status = 'pending', synced_at = NULL "
                          "WHERE appointment_id = :id"), {"id": appointment_id})


def test_cancel_after_lost_commits_deletes_the_event(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    created = new_appointment(platform, alice, "Reached Google, then the database crashed")
    [event] = fake_google.events("alice@example.com")
    lose_the_run_commits(platform, created["id"])

    cancelled = alice.delete(platform.api(f"{APPOINTMENTS}/{created['id']}"))
    assert cancelled.status_code == 200
    # The link was pending already (so the cancel queued nothing): what picks it up is reconcile,
    # periodic with workers, asked for here as the user's "sync now" does.
    assert alice.post(platform.api(f"{CALENDAR}/sync-now")).status_code in (200, 202)
    assert fake_google.events("alice@example.com") == []
    [gone] = fake_google.events("alice@example.com", include_deleted=True)
    assert gone["id"] == event["id"] and gone["status"] == "cancelled"
    assert appointment(platform, alice, created["id"])["sync_status"] == "deleted"

