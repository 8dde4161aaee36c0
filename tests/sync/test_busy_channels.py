"""Push channels on the "count as busy" calendars: a change there is seen at once; renewed, stopped, forgotten."""
from __future__ import annotations

from datetime import timedelta

import requests

from core.models import utcnow
from plugins.google_calendar.channels import PATH
from plugins.google_calendar.state import BusyChannel
from tests.conftest import connect_google
from tests.sync.conftest import CALENDAR, wait_until
from tests.sync.test_google_changes import pushed  # noqa: F401  (fixture: the platform with push notifications)

ALICE = "alice@example.com"
WORK = "work-alice@group.calendar.google.com"
WEEK = {"from": "2030-05-01T00:00:00+00:00", "to": "2030-05-08T00:00:00+00:00"}


def watched(fake) -> set[str]:
    return {channel.calendar_id for channel in fake.live_channels(ALICE)}


def test_a_change_in_a_busy_calendar_is_seen_at_once_and_its_channel_follows_the_settings(pushed, fake_google):  # noqa: F811
    from core.worker import reconcile_now

    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, ALICE)
    assert watched(fake_google) == {ALICE}  # the sync target only
    event = fake_google.add_event(ALICE, {"summary": "Board", "start": {"dateTime": "2030-05-01T10:00:00+00:00"},
                                          "end": {"dateTime": "2030-05-01T11:00:00+00:00"}}, WORK)
    assert alice.patch(pushed.api(CALENDAR + "/settings"), json={"busy_calendar_ids": [WORK]}).status_code == 200
    assert watched(fake_google) == {ALICE, WORK}

    def busy():
        answer = alice.get(pushed.api("/api/v1/availability"), params=WEEK)
        assert answer.status_code == 200, answer.text
        return [b["start"][11:16] for b in answer.json()["busy"]]

    assert busy() == ["10:00"]
    calls = fake_google.count("/freeBusy")
    assert busy() == ["10:00"] and fake_google.count("/freeBusy") == calls  # warm

    # A forged notification on that channel changes nothing.
    [channel] = [c for c in fake_google.live_channels(ALICE) if c.calendar_id == WORK]
    forged = requests.post(pushed.url + PATH, timeout=10, headers={
        "X-Goog-Channel-ID": channel.id, "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Channel-Token": "forged", "X-Goog-Resource-State": "exists"})
    assert forged.status_code == 200
    assert busy() == ["10:00"] and fake_google.count("/freeBusy") == calls

    # Moved in Google: the push forgets the cached busy times; the next question asks Google once.
    fake_google.edit_as_user(ALICE, event["id"], WORK, start={"dateTime": "2030-05-01T13:00:00+00:00"},
                             end={"dateTime": "2030-05-01T14:00:00+00:00"})
    wait_until(lambda: busy() == ["13:00"], what="the moved busy time")
    assert fake_google.count("/freeBusy") == calls + 1

    # Renewed before it expires, the old channel stopped.
    with pushed.ext("db").session_scope() as session:
        session.get(BusyChannel, channel.id).expires_at = utcnow() + timedelta(hours=1)
    assert reconcile_now(pushed.app)["google_calendar_busy_channels_renewed"] == 1
    assert watched(fake_google) == {ALICE, WORK} and channel.id not in fake_google.channels
    assert reconcile_now(pushed.app)["google_calendar_busy_channels_renewed"] == 0

    # Unticked: its channel is stopped; ticked again, then disconnected: no channel left.
    stops = fake_google.count("/channels/stop")
    assert alice.patch(pushed.api(CALENDAR + "/settings"), json={"busy_calendar_ids": []}).status_code == 200
    assert watched(fake_google) == {ALICE} and fake_google.count("/channels/stop") == stops + 1
    alice.patch(pushed.api(CALENDAR + "/settings"), json={"busy_calendar_ids": [WORK]})
    assert watched(fake_google) == {ALICE, WORK}
    assert alice.post(pushed.api(CALENDAR + "/revoke")).status_code == 200
    assert watched(fake_google) == set()
    with pushed.ext("db").session_scope() as session:
        assert session.query(BusyChannel).count() == 0
