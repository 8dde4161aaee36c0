"""Phase B: moves and deletions made in Google reach the appointment (push and polling), the user chooses, no loop."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.models import utcnow
from plugins.google_calendar.channels import ADDRESS_VARIABLE, PATH
from plugins.google_calendar.state import SyncState
from tests.conftest import connect_google, platform_env
from tests.sync.conftest import APPOINTMENTS, CALENDAR, appointment, new_appointment, wait_until

CHANGES = CALENDAR + "/changes"
MOVED = {"start": {"dateTime": "2030-05-01T14:00:00+00:00"}, "end": {"dateTime": "2030-05-01T14:30:00+00:00"}}


def writes(fake) -> int:
    """Calendar writes the platform made (inserts, patches, deletes; batch parts included)."""
    return sum(1 for r in fake.requests if r.path.startswith("/calendar/v3/calendars/")
               and r.method in ("POST", "PATCH", "PUT", "DELETE") and not r.path.endswith("/watch"))


@pytest.fixture
def pushed(start_platform, database_url, fake_google):
    """The platform in-process with push notifications from the fake Google."""
    platform = start_platform(platform_env(database_url, fake_google))
    platform.config.environ[ADDRESS_VARIABLE] = platform.url + PATH
    return platform


def settled(fake, pushes: int):
    """Wait until the fake has delivered ``pushes`` notifications (in-process mode pulls while answering)."""
    wait_until(lambda: fake.pushes_sent >= pushes, what=f"{pushes} push notifications")
    assert fake.push_failures == 0


def test_move_and_delete_in_google_reach_the_appointment_and_both_choices_work(pushed, fake_google):
    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, "alice@example.com")
    [channel] = fake_google.live_channels("alice@example.com")
    settled(fake_google, 1)  # the "sync" message of a new channel
    moved = new_appointment(pushed, alice, "Moved in Google", hour=9)
    deleted = new_appointment(pushed, alice, "Deleted in Google", hour=10)
    settled(fake_google, 3)  # our two inserts came back: ignored
    assert appointment(pushed, alice, moved["id"])["sync_status"] == "synced"
    before = writes(fake_google)

    fake_google.edit_as_user("alice@example.com", moved["external_event_id"], **MOVED)
    fake_google.delete_as_user("alice@example.com", deleted["external_event_id"])
    settled(fake_google, 5)
    seen = appointment(pushed, alice, moved["id"])
    assert seen["sync_status"] == "changed_in_google" and "14:00" in seen["sync_error"]
    assert seen["sync_change"] == {  # what the dashboard shows and where it answers, provider-neutral
        "change": "moved", "starts_at": "2030-05-01T14:00:00+00:00", "ends_at": "2030-05-01T14:30:00+00:00",
        "choose": f"{CHANGES}/{moved['id']}", "keep": "keep_google", "restore": "restore"}
    gone = appointment(pushed, alice, deleted["id"])
    assert gone["sync_status"] == "changed_in_google" and gone["sync_change"]["change"] == "deleted"
    assert gone["sync_change"]["starts_at"] is None
    waiting = {c["appointment_id"]: c for c in alice.get(pushed.api(CHANGES)).json()}
    assert waiting[moved["id"]]["change"] == "moved"
    assert waiting[moved["id"]]["google_starts_at"].startswith("2030-05-01T14:00")
    assert waiting[deleted["id"]]["change"] == "deleted"

    kept = alice.post(pushed.api(f"{CHANGES}/{moved['id']}"), json={"choice": "keep_google"})
    assert kept.status_code == 200 and [c["appointment_id"] for c in kept.json()] == [deleted["id"]]
    followed = appointment(pushed, alice, moved["id"])
    assert followed["starts_at"].startswith("2030-05-01T14:00") and followed["sync_status"] == "synced"
    assert writes(fake_google) == before, "keeping Google's change writes nothing back"

    restored = alice.post(pushed.api(f"{CHANGES}/{deleted['id']}"), json={"choice": "restore"})
    assert restored.status_code == 200 and restored.json() == []
    settled(fake_google, 6)  # our restoring patch came back: ignored, no loop
    assert appointment(pushed, alice, deleted["id"])["sync_status"] == "synced"
    assert writes(fake_google) == before + 1
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == [
        "Deleted in Google", "Moved in Google"]
    assert alice.post(pushed.api(f"{CHANGES}/{deleted['id']}"), json={"choice": "restore"}).status_code == 404
    assert alice.post(pushed.api(f"{CHANGES}/{moved['id']}"), json={"choice": "maybe"}).status_code == 422
    assert channel.id == fake_google.live_channels("alice@example.com")[0].id


def test_notifications_are_public_but_only_known_channels_count(pushed, fake_google):
    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, "alice@example.com")
    [channel] = fake_google.live_channels("alice@example.com")
    lists = fake_google.count("/events", method="GET")
    anonymous = pushed.browser()
    for headers in ({"X-Goog-Channel-ID": "unknown", "X-Goog-Channel-Token": "x"},
                    {"X-Goog-Channel-ID": channel.id, "X-Goog-Channel-Token": "forged",
                     "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": "exists"},
                    {}):
        answer = anonymous.post(pushed.api(PATH), headers=headers)
        assert answer.status_code == 200
    assert fake_google.count("/events", method="GET") == lists, "ignored: no call to Google"
    genuine = {"X-Goog-Channel-ID": channel.id, "X-Goog-Channel-Token": channel.token,
               "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": "exists"}
    assert anonymous.post(pushed.api(PATH), headers=genuine).status_code == 200
    assert fake_google.count("/events", method="GET") == lists + 1
    assert anonymous.get(pushed.api(CHANGES)).status_code == 401


def test_disconnect_stops_the_channel_and_every_call(pushed, fake_google):
    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, "alice@example.com")
    created = new_appointment(pushed, alice, "Mine", hour=9)
    settled(fake_google, 2)  # the channel's "sync" message and our insert
    assert len(fake_google.live_channels("alice@example.com")) == 1
    assert alice.post(pushed.api(CALENDAR + "/revoke")).status_code == 200
    assert fake_google.live_channels("alice@example.com") == []
    assert fake_google.count("/channels/stop") == 1
    calls = fake_google.calendar_calls
    fake_google.edit_as_user("alice@example.com", created["external_event_id"], **MOVED)
    assert fake_google.calendar_calls == calls and fake_google.pushes_sent == 2, "no channel: no push, no call"


def test_calendar_switch_stops_the_old_channel_and_watches_the_new_one(pushed, fake_google):
    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, "alice@example.com")
    [old] = fake_google.live_channels("alice@example.com")
    work = "work-alice@group.calendar.google.com"
    assert alice.patch(pushed.api(CALENDAR + "/settings"), json={"calendar_id": work}).status_code == 200
    [new] = fake_google.live_channels("alice@example.com")
    assert new.calendar_id == work and new.id != old.id and fake_google.count("/channels/stop") == 1


def test_channels_renewed_before_expiration(pushed, fake_google):
    from core.worker import reconcile_now

    fake_google.channel_ttl = 3600  # within the renewal margin: the periodic job renews it
    alice = pushed.browser("alice", "org-a")
    connect_google(pushed, alice, fake_google, "alice@example.com")
    [first] = fake_google.live_channels("alice@example.com")
    assert reconcile_now(pushed.app)["google_calendar_channels_renewed"] == 1
    [second] = fake_google.live_channels("alice@example.com")
    assert second.id != first.id and first.id not in fake_google.channels
    fake_google.channel_ttl = 7 * 24 * 3600
    assert reconcile_now(pushed.app)["google_calendar_channels_renewed"] == 1
    assert reconcile_now(pushed.app)["google_calendar_channels_renewed"] == 0


def _poll_now(platform, user):
    from core.models import User

    with platform.ext("db").session_scope() as session:
        user_id = session.query(User).filter_by(external_id=user).one().id
        session.get(SyncState, user_id).next_poll_at = utcnow() - timedelta(seconds=1)


def test_polling_without_push_and_full_resync_after_410(platform, fake_google):
    from core.worker import reconcile_now

    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    assert fake_google.live_channels() == []  # no public address: polling
    created = new_appointment(platform, alice, "Polled", hour=9)
    fake_google.edit_as_user("alice@example.com", created["external_event_id"], **MOVED)
    assert reconcile_now(platform.app)["google_calendar_polled"] == 0, "not due yet"
    _poll_now(platform, "alice")
    assert reconcile_now(platform.app)["google_calendar_polled"] == 1
    assert appointment(platform, alice, created["id"])["sync_status"] == "changed_in_google"
    incremental = [r for r in fake_google.requests if r.path.endswith("/events") and r.method == "GET"][-1]
    assert "syncToken" in incremental.query

    alice.post(platform.api(f"{CHANGES}/{created['id']}"), json={"choice": "restore"})
    assert appointment(platform, alice, created["id"])["sync_status"] == "synced"
    fake_google.invalidate_sync_tokens()
    fake_google.delete_as_user("alice@example.com", created["external_event_id"])
    _poll_now(platform, "alice")
    reconcile_now(platform.app)
    listings = [r for r in fake_google.requests if r.path.endswith("/events") and r.method == "GET"][-2:]
    assert "syncToken" in listings[0].query and "syncToken" not in listings[1].query  # 410, then full
    assert appointment(platform, alice, created["id"])["sync_status"] == "changed_in_google"
    _poll_now(platform, "alice")
    reconcile_now(platform.app)
    assert "syncToken" in [r for r in fake_google.requests if r.path.endswith("/events")][-1].query


def test_policy_keep_google_follows_automatically(start_platform, database_url, fake_google):
    from core.worker import reconcile_now

    platform = start_platform(platform_env(database_url, fake_google,
                                           GOOGLE_CALENDAR_CHANGE_POLICY="org-a=keep_google,*=ask"))
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    created = new_appointment(platform, alice, "Follows", hour=9)
    before = writes(fake_google)
    fake_google.delete_as_user("alice@example.com", created["external_event_id"])
    _poll_now(platform, "alice")
    reconcile_now(platform.app)
    followed = appointment(platform, alice, created["id"])
    assert followed["status"] == "cancelled" and followed["sync_status"] == "deleted"
    assert writes(fake_google) == before
    assert alice.get(platform.api(CHANGES)).json() == []
    assert alice.get(platform.api(APPOINTMENTS)).json()[0]["version"] == 2


def test_push_path_with_workers(worker_platform, workers, fake_google):
    from tests.sync.conftest import synced

    workers.env[ADDRESS_VARIABLE] = worker_platform.url + PATH  # the watch job runs in the worker
    workers.start("--reconcile-every", "0")
    alice = worker_platform.browser("alice", "org-a")
    connect_google(worker_platform, alice, fake_google, "alice@example.com")
    # The worker process starts first (tens of seconds on a loaded machine): what is measured comes after.
    wait_until(lambda: fake_google.live_channels("alice@example.com"), timeout=90, what="the channel\n" + workers.logs())
    created = new_appointment(worker_platform, alice, "Moved with workers", hour=9)
    wait_until(synced(worker_platform, alice, created["id"]), what="the insert\n" + workers.logs())
    event_id = appointment(worker_platform, alice, created["id"])["external_event_id"]

    fake_google.edit_as_user("alice@example.com", event_id, **MOVED)
    wait_until(synced(worker_platform, alice, created["id"], "changed_in_google"),
               what="the pushed change\n" + workers.logs())
    assert alice.post(worker_platform.api(f"{CHANGES}/{created['id']}"), json={"choice": "restore"}).status_code == 200
    wait_until(lambda: fake_google.events("alice@example.com")[0]["start"]["dateTime"].startswith("2030-05-01T11:00"),
               what="the restored event\n" + workers.logs())
    wait_until(synced(worker_platform, alice, created["id"]), what="synced again")


def test_polling_while_google_is_out_of_reach_changes_nothing_and_logs_no_error(platform, fake_google, caplog):
    """Google unreachable (connection refused) during a poll: the pull gives up quietly until the
    next one; no job fails, nothing is logged as an error, the appointment keeps its state."""
    from core.worker import reconcile_now

    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    created = new_appointment(platform, alice, "Quiet", hour=11)
    fake_google.stop()
    _poll_now(platform, "alice")
    with caplog.at_level("INFO"):
        assert reconcile_now(platform.app)["google_calendar_polled"] == 1
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert appointment(platform, alice, created["id"])["sync_status"] == "synced"
