"""Google Calendar and CalDAV connected together: one sync target at a time, switching moves future events."""
from __future__ import annotations

from tests.caldav.conftest import USERS
from tests.conftest import connect_google, platform_env
from tests.connectors.helpers import accepted_config, status
from tests.sync.conftest import appointment, new_appointment

CALDAV_SETTINGS = "/api/v1/connectors/caldav/settings"
GOOGLE_SETTINGS = "/api/v1/connectors/google_calendar/settings"


def titles(radicale):
    return sorted(str(next(iter(c.walk("VEVENT")))["SUMMARY"]) for c in radicale.events("alice", "cabinet"))


def test_switching_the_target_moves_future_events(start_platform, tmp_path, fake_google, radicale):
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/x.db", fake_google))
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    made = new_appointment(platform, alice, "Follows the target")
    assert [e["summary"] for e in fake_google.events("alice@example.com")] == ["Follows the target"]

    # Google is the target, so CalDAV connects with sync off; switching it on moves the event to Radicale.
    connected = accepted_config(platform, alice, "caldav", {"url": radicale.url, "username": "alice",
                                                            "password": USERS["alice"]}, "password")
    assert connected["settings"]["sync_enabled"] is False and titles(radicale) == []
    answer = alice.patch(platform.api(CALDAV_SETTINGS), json={"calendar_id": "/alice/cabinet/", "sync_enabled": True})
    assert answer.status_code == 200, answer.text
    assert status(platform, alice, "google_calendar")["settings"]["sync_enabled"] is False
    assert fake_google.events("alice@example.com") == []
    assert titles(radicale) == ["Follows the target"]
    assert appointment(platform, alice, made["id"])["calendar_id"] == "/alice/cabinet/"

    # Back to Google: CalDAV takes its event away, Google shows it again.
    answer = alice.patch(platform.api(GOOGLE_SETTINGS), json={"sync_enabled": True})
    assert answer.status_code == 200, answer.text
    assert status(platform, alice, "caldav")["settings"]["sync_enabled"] is False
    assert titles(radicale) == []
    assert [e["summary"] for e in fake_google.events("alice@example.com")] == ["Follows the target"]
