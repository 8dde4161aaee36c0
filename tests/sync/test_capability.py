"""Sync as a declared capability: core drives any sync-capable connector; one sync target per user."""
from __future__ import annotations

import pytest

from core import ConfigError
from tests.conftest import connect_google, platform_env
from tests.sample_plugins import mirror
from tests.sync.conftest import CALENDAR, appointment, new_appointment

MIRROR = "/api/v1/connectors/mirror"


def _patch(platform, browser, path, **values) -> dict:
    response = browser.patch(platform.api(path + "/settings"), json=values)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_target_at_a_time_and_the_old_one_removes_its_future_events(start_platform, database_url, fake_google):
    platform = start_platform(platform_env(database_url, fake_google), plugins=[("mirror", mirror)])
    alice = platform.browser("alice", "org")
    connect_google(platform, alice, fake_google, "alice@example.com")
    first = new_appointment(platform, alice, "Before the switch")
    assert first["sync_status"] == "synced" and fake_google.events("alice@example.com")

    # Connecting Google Calendar with sync on made it the target: the mirror's sync was switched off.
    connected = alice.post(platform.api(MIRROR + "/config"), json={"label": "my mirror"})
    assert connected.status_code == 200, connected.text
    assert connected.json()["settings"]["sync_enabled"] is False

    # Switching the mirror on takes over: Google removes its future events, the mirror copies them all.
    shown = _patch(platform, alice, MIRROR, sync_enabled=True)
    assert shown["settings"]["sync_enabled"] is True and shown["pending_changes"] == 0
    assert alice.get(platform.api(CALENDAR)).json()["settings"]["sync_enabled"] is False
    assert fake_google.events("alice@example.com") == []
    now = appointment(platform, alice, first["id"])
    assert (now["external_event_id"], now["calendar_id"], now["sync_status"]) == (
        f"mirror-{first['id']}", "mirror", "synced")

    second = new_appointment(platform, alice, "After the switch", hour=11)
    assert second["external_event_id"] == f"mirror-{second['id']}"
    assert fake_google.events("alice@example.com") == []

    # And back: the mirror empties, Google places both appointments again (the first one restored).
    _patch(platform, alice, CALENDAR, sync_enabled=True)
    assert alice.get(platform.api(MIRROR)).json()["settings"]["sync_enabled"] is False
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == [
        "After the switch", "Before the switch"]
    back = appointment(platform, alice, first["id"])
    assert back["sync_status"] == "synced" and back["external_event_id"] == first["external_event_id"]


def test_appointments_of_a_user_without_target_wait_for_the_first_one(start_platform, database_url, fake_google):
    platform = start_platform(platform_env(database_url, fake_google), plugins=[("mirror", mirror)])
    bob = platform.browser("bob", "org")
    waiting = new_appointment(platform, bob, "Booked before any calendar")
    assert waiting["sync_status"] in ("pending", "synced")  # recorded by every handler with sync on
    bob.post(platform.api(MIRROR + "/config"), json={"label": "m"})
    assert appointment(platform, bob, waiting["id"])["external_event_id"] == f"mirror-{waiting['id']}"
    assert bob.get(platform.api(CALENDAR)).json()["settings"]["sync_enabled"] is False


def test_reconcile_drives_every_sync_handler(start_platform, tmp_path):
    from core.worker import reconcile_now

    url = f"sqlite:///{tmp_path}/r.db"
    platform = start_platform(platform_env(url), plugins=[("mirror", mirror)])
    carol = platform.browser("carol", "org")
    carol.post(platform.api(MIRROR + "/config"), json={"label": "m"})
    new_appointment(platform, carol, "One")
    new_appointment(platform, carol, "Two", hour=10)
    counts = reconcile_now(platform.app)
    assert counts["mirror_entries"] == 2 and counts["google_calendar_stale_links"] == 0


def test_quota_variables_are_read_and_checked(start_platform, tmp_path):
    from core.app import create_app

    env = platform_env(f"sqlite:///{tmp_path}/q.db", MIRROR_QUOTA_PER_MIN="30")
    platform = start_platform(env, plugins=[("mirror", mirror)])
    [bucket] = platform.ext("platform").buckets("mirror", user_id=7)
    assert (bucket.name, bucket.per_minute) == ("mirror:calls:7", 30)
    assert [(b.name, b.per_minute) for b in platform.ext("platform").buckets("google_calendar", 7)] == [
        ("google_calendar:user:7", 600), ("google_calendar:project", 10000)]
    with pytest.raises(ConfigError, match="MIRROR_QUOTA_PER_MIN"):
        create_app({**env, "MIRROR_QUOTA_PER_MIN": "lots"}, plugins=[("mirror", mirror)],
                   instance_path=str(tmp_path / "i"))
