"""Sync without Redis: jobs run in-process right after commit (the embedded default)."""
from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, CALENDAR, appointment, new_appointment


def test_lifecycle_two_orgs(platform, fake_google):
    alice, bob = platform.browser("same", "org-a"), platform.browser("same", "org-b")
    connect_google(platform, alice, fake_google, "alice@example.com")
    connect_google(platform, bob, fake_google, "bob@example.org")

    created = new_appointment(platform, alice, "Alice meets Carl", location="Room 1")
    assert created["sync_status"] == "synced" and created["version"] == 1
    bobs = new_appointment(platform, bob, "Bob meets Dan")
    [event] = fake_google.events("alice@example.com")
    assert event["id"] == created["external_event_id"] and event["summary"] == "Alice meets Carl"
    assert event["start"] == {"dateTime": "2030-05-01T11:00:00+02:00", "timeZone": "Europe/Paris"}
    assert event["extendedProperties"]["private"]["connectors_appointment_id"] == str(created["id"])
    assert [e["summary"] for e in fake_google.events("bob@example.org")] == ["Bob meets Dan"]
    # Where the event opens comes from the connector: Google's eid is base64 of "<event id> <calendar id>".
    opened = urlparse(created["external_url"])
    assert (opened.scheme, opened.netloc, opened.path) == ("https", "calendar.google.com", "/calendar/event")
    eid = parse_qs(opened.query)["eid"][0]
    assert base64.b64decode(eid + "=" * (-len(eid) % 4)).decode() == f"{event['id']} alice@example.com"
    status = alice.get(platform.api(CALENDAR)).json()
    assert {f["name"]: f["options_from"] for f in status["settings_fields"]}["calendar_id"] == "calendars"
    assert status["last_sync"] and status["pending_changes"] == 0
    assert platform.browser("carol", "org-a").get(platform.api(CALENDAR)).json().get("last_sync") is None
    assert all(r.query.get("sendUpdates") == ["none"] for r in fake_google.requests
               if r.path.startswith("/calendar/v3/calendars/") and r.method != "GET" and not r.path.endswith("/watch"))

    moved = alice.patch(platform.api(f"{APPOINTMENTS}/{created['id']}"),
                        json={"starts_at": "2030-05-01T10:00:00+00:00", "ends_at": "2030-05-01T11:00:00+00:00",
                              "location": None})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    [event] = fake_google.events("alice@example.com")
    assert event["start"]["dateTime"] == "2030-05-01T12:00:00+02:00" and "location" not in event
    assert fake_google.count("/events", method="PUT") == 0

    assert alice.get(platform.api(f"{APPOINTMENTS}/{bobs['id']}")).status_code == 404
    assert bob.patch(platform.api(f"{APPOINTMENTS}/{created['id']}"), json={"title": "x"}).status_code == 404
    assert [a["title"] for a in bob.get(platform.api(APPOINTMENTS)).json()] == ["Bob meets Dan"]

    cancelled = alice.delete(platform.api(f"{APPOINTMENTS}/{created['id']}"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["sync_status"] == "deleted"
    assert fake_google.events("alice@example.com") == []
    assert len(fake_google.events("alice@example.com", include_deleted=True)) == 1
    assert [e["summary"] for e in fake_google.events("bob@example.org")] == ["Bob meets Dan"]


def _settings(platform, browser, **values):
    response = browser.patch(platform.api(CALENDAR + "/settings"), json=values)
    assert response.status_code == 200, response.text
    return response.json()


def _user_id(platform, sub, org):
    from core.models import User

    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id=sub, org_id=org).one().id


def test_chosen_calendar_and_switching(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    first = new_appointment(platform, alice, "In primary")
    assert first["calendar_id"] == "primary"
    work = "work-alice@group.calendar.google.com"
    _settings(platform, alice, calendar_id=work)
    second = new_appointment(platform, alice, "In work", hour=10)
    assert appointment(platform, alice, second["id"])["calendar_id"] == work
    assert appointment(platform, alice, first["id"])["calendar_id"] == work
    assert fake_google.events("alice@example.com") == []
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com", work)) == ["In primary", "In work"]


def test_batch_when_sync_switched_back_on(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    _settings(platform, alice, sync_enabled=False)
    before = fake_google.calendar_calls
    made = [new_appointment(platform, alice, f"Visit {n}", hour=8 + n) for n in range(5)]
    alice.delete(platform.api(f"{APPOINTMENTS}/{made[0]['id']}"))  # cancelled before any sync: no call yet
    assert fake_google.calendar_calls == before
    assert appointment(platform, alice, made[1]["id"])["sync_status"] == "pending"

    listings = fake_google.count("/events", method="GET")
    _settings(platform, alice, sync_enabled=True)
    assert fake_google.count("/events", method="GET") - listings == 1  # reading back starts again
    assert fake_google.calendar_calls - before == 4 + 1 + 1  # four inserts, the early cancel's delete (404), a listing
    assert fake_google.count("/batch/calendar/v3") == 1
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == [f"Visit {n}" for n in range(1, 5)]
    assert appointment(platform, alice, made[0]["id"])["sync_status"] == "deleted"


def test_sync_off_and_disconnect_stop_every_call(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    kept = new_appointment(platform, alice, "Before")
    _settings(platform, alice, sync_enabled=False)
    before = fake_google.calendar_calls
    alice.patch(platform.api(f"{APPOINTMENTS}/{kept['id']}"), json={"title": "While off"})
    new_appointment(platform, alice, "Also while off", hour=12)
    assert alice.post(platform.api(CALENDAR + "/sync-now")).status_code == 409
    assert fake_google.calendar_calls == before

    _settings(platform, alice, sync_enabled=True)
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == ["Also while off", "While off"]

    assert alice.post(platform.api(CALENDAR + "/revoke")).status_code == 200
    before = fake_google.calendar_calls
    alice.patch(platform.api(f"{APPOINTMENTS}/{kept['id']}"), json={"title": "After disconnect"})
    alice.delete(platform.api(f"{APPOINTMENTS}/{kept['id']}"))
    assert fake_google.calendar_calls == before

    connect_google(platform, alice, fake_google, "alice@example.com")
    assert appointment(platform, alice, kept["id"])["sync_status"] == "deleted"
    assert [e["summary"] for e in fake_google.events("alice@example.com")] == ["Also while off"]


def test_lost_record_never_duplicates(platform, fake_google):
    """A job that inserted but died before recording it: the retry's insert gets 409, fetches, patches."""
    from plugins.google_calendar.models import CalendarEventLink
    from core.worker import reconcile_now

    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    created = new_appointment(platform, alice, "Once")
    with platform.ext("db").session_scope() as session:
        session.query(CalendarEventLink).update({"synced_version": 0, "sync_status": "pending"})
    alice_calls = fake_google.calendar_calls
    reconcile_now(platform.app)
    assert fake_google.calendar_calls - alice_calls == 3  # insert → 409, get, patch
    assert [e["id"] for e in fake_google.events("alice@example.com")] == [created["external_event_id"]]
    assert appointment(platform, alice, created["id"])["sync_status"] == "synced"


def test_rejected_token_refreshed_once(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    fake_google.expire_access_tokens()
    before = fake_google.refresh_count
    assert new_appointment(platform, alice, "After 401")["sync_status"] == "synced"
    assert fake_google.refresh_count - before == 1


def test_missing_calendar_says_pick_another(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    _settings(platform, alice, calendar_id="deleted@group.calendar.google.com")
    created = new_appointment(platform, alice, "Nowhere to go")
    assert created["sync_status"] == "pending" and "pick another calendar" in created["sync_error"]
    status = alice.get(platform.api(CALENDAR)).json()
    assert status["status"] == "error" and "pick another calendar" in status["last_error"]
    before = fake_google.calendar_calls
    new_appointment(platform, alice, "Still nowhere", hour=10)
    assert fake_google.calendar_calls == before

    _settings(platform, alice, calendar_id="primary")
    assert alice.get(platform.api(CALENDAR)).json()["status"] == "active"
    assert appointment(platform, alice, created["id"])["sync_status"] == "synced"
    assert len(fake_google.events("alice@example.com")) == 2


def test_sync_now_and_cassius_alias(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    assert alice.post(platform.api(CALENDAR + "/sync-now")).json()["errors"]["reason"] == "not_connected"
    new_appointment(platform, alice, "Made before connecting")
    connect_google(platform, alice, fake_google, "alice@example.com")
    assert len(fake_google.events("alice@example.com")) == 1
    response = alice.post(platform.url + "/api/integrations/google/sync-now")
    assert response.status_code == 202 and response.json() == {"enqueued": True, "stale_links": 0}
    assert alice.get(platform.url + "/api/integrations/google/status").json()["status"] == "active"
