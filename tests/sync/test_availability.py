"""Google busy times: two calendars plus appointments, private details never shown, 409 then allow_conflict."""
from __future__ import annotations

from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, CALENDAR, appointment, new_appointment

AVAILABILITY = "/api/v1/availability"
WORK = "work-alice@group.calendar.google.com"
WEEK = {"from": "2030-05-01T00:00:00+00:00", "to": "2030-05-08T00:00:00+00:00"}


def _private(fake, summary, start, end, calendar_id=None, **extra):
    return fake.add_event("alice@example.com", {
        "summary": summary, "description": "secret notes", "attendees": [{"email": "doctor@example.com"}],
        "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}, calendar_id)


def test_busy_from_two_calendars_and_appointments_without_details(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    _private(fake_google, "Dentist", "2030-05-01T10:00:00+00:00", "2030-05-01T11:00:00+00:00")
    _private(fake_google, "Board meeting", "2030-05-01T13:00:00+00:00", "2030-05-01T14:00:00+00:00", WORK)
    _private(fake_google, "Free time", "2030-05-01T15:00:00+00:00", "2030-05-01T16:00:00+00:00",
             transparency="transparent")
    booked = new_appointment(platform, alice, "Consultation", hour=9)  # 09:00-09:30, synced to primary

    def busy():
        answer = alice.get(platform.api(AVAILABILITY), params={**WEEK, "duration": 60})
        assert answer.status_code == 200, answer.text
        assert "Dentist" not in answer.text and "Board" not in answer.text and "secret" not in answer.text
        assert "doctor@" not in answer.text
        return [(b["start"][:16], b["end"][:16]) for b in answer.json()["busy"]]

    assert busy() == [("2030-05-01T09:00", "2030-05-01T09:30"), ("2030-05-01T10:00", "2030-05-01T11:00")]
    response = alice.patch(platform.api(CALENDAR + "/settings"), json={"busy_calendar_ids": WORK})
    assert response.status_code == 200 and response.json()["settings"]["busy_calendar_ids"] == WORK
    assert busy() == [("2030-05-01T09:00", "2030-05-01T09:30"), ("2030-05-01T10:00", "2030-05-01T11:00"),
                      ("2030-05-01T13:00", "2030-05-01T14:00")]
    [query] = [r for r in fake_google.requests if r.path.endswith("/freeBusy")][-1:]
    assert sorted(item["id"] for item in query.json()["items"]) == sorted(["primary", WORK])

    calls = fake_google.count("/freeBusy")
    answer = alice.get(platform.api(AVAILABILITY), params={**WEEK, "duration": 60}).json()
    assert fake_google.count("/freeBusy") == calls, "a warm cache asks Google nothing"
    assert answer["free"][0]["start"].startswith("2030-05-01T11:00")
    assert not any(f["start"].startswith("2030-05-01T13:00") for f in answer["free"])
    assert appointment(platform, alice, booked["id"])["sync_status"] == "synced"


def test_booking_into_busy_time_is_409_then_allowed(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    _private(fake_google, "Dentist", "2030-05-01T10:00:00+00:00", "2030-05-01T11:00:00+00:00")

    refused = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Clash", "starts_at": "2030-05-01T10:30:00+00:00", "ends_at": "2030-05-01T11:30:00+00:00"})
    assert refused.status_code == 409
    assert refused.json()["errors"] == {"reason": "conflict", "busy": [
        {"start": "2030-05-01T10:30:00+00:00", "end": "2030-05-01T11:00:00+00:00"}]}
    assert "Dentist" not in refused.text
    assert fake_google.events("alice@example.com")[0]["summary"] == "Dentist"  # nothing written

    booked = new_appointment(platform, alice, "Before the dentist", hour=9)
    moved = alice.patch(platform.api(f"{APPOINTMENTS}/{booked['id']}"), json={
        "starts_at": "2030-05-01T09:45:00+00:00", "ends_at": "2030-05-01T10:15:00+00:00"})
    assert moved.status_code == 409
    later = alice.patch(platform.api(f"{APPOINTMENTS}/{booked['id']}"), json={
        "starts_at": "2030-05-01T09:15:00+00:00", "ends_at": "2030-05-01T09:45:00+00:00"})
    assert later.status_code == 200, "its own event in Google does not make it conflict with itself"
    forced = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Clash", "starts_at": "2030-05-01T10:30:00+00:00", "ends_at": "2030-05-01T11:30:00+00:00",
        "allow_conflict": True})
    assert forced.status_code == 201
    assert sorted(e["summary"] for e in fake_google.events("alice@example.com")) == [
        "Before the dentist", "Clash", "Dentist"]


def test_connection_without_the_freebusy_scope_keeps_syncing(platform, fake_google):
    from plugins.google_calendar import SCOPES
    from plugins.google_calendar.busy import FREEBUSY_SCOPE

    alice = platform.browser("alice", "org-a")
    fake_google.grant_scopes_next([s for s in SCOPES if s != FREEBUSY_SCOPE])  # as connections made before
    assert connect_google(platform, alice, fake_google, "alice@example.com")["status"] == "success"
    status = alice.get(platform.api(CALENDAR)).json()
    assert status["status"] == "active" and status["availability"] == "reconnect_required"
    assert status["availability_message"].startswith("Reconnectez Google Agenda")
    _private(fake_google, "Dentist", "2030-05-01T10:00:00+00:00", "2030-05-01T11:00:00+00:00")

    answer = alice.get(platform.api(AVAILABILITY), params=WEEK).json()
    assert answer["busy"] == [] and answer["users"][0]["notices"][0]["reason"] == "reconnect_required"
    booked = new_appointment(platform, alice, "Still synced", hour=10)
    assert booked["sync_status"] == "synced" and fake_google.count("/freeBusy") == 0

    connect_google(platform, alice, fake_google, "alice@example.com")
    assert alice.get(platform.api(CALENDAR)).json()["availability"] == "enabled"
    assert [b["start"][11:16] for b in alice.get(platform.api(AVAILABILITY), params=WEEK).json()["busy"]] == ["10:00"]
