"""Availability in core: merging, free slots in working hours, the ``busy_intervals`` hook and 409 conflicts."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.availability import WorkingHours, free_slots, merge
from tests.sample_plugins import busy_source

AVAILABILITY = "/api/v1/availability"
APPOINTMENTS = "/api/v1/appointments"
PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_merge_joins_overlapping_and_touching_intervals():
    a, b, c = at("2030-05-06T09:00+00:00"), at("2030-05-06T10:00+00:00"), at("2030-05-06T11:00+00:00")
    assert merge([(b, c), (a, b), (a, a + timedelta(minutes=30))]) == [(a, c)]
    assert merge([(c, c + timedelta(hours=1)), (a, b)]) == [(a, b), (c, c + timedelta(hours=1))]


def test_free_slots_stay_in_working_hours_and_skip_weekends_and_busy_times():
    hours = WorkingHours(PARIS, time(9), time(12))
    friday, monday = at("2030-05-03T00:00+02:00"), at("2030-05-07T00:00+02:00")
    busy = [(at("2030-05-03T09:40+02:00"), at("2030-05-03T10:50+02:00"))]
    slots = free_slots(busy, friday, monday, timedelta(minutes=30), hours)
    starts = [s.astimezone(PARIS).strftime("%a %H:%M") for s, _ in slots]
    assert starts == ["Fri 09:00", "Fri 11:00", "Fri 11:30",
                      "Mon 09:00", "Mon 09:30", "Mon 10:00", "Mon 10:30", "Mon 11:00", "Mon 11:30"]
    with_weekends = free_slots(busy, friday, monday, timedelta(hours=3), WorkingHours(PARIS, time(9), time(12), True))
    assert [s.astimezone(PARIS).strftime("%a") for s, _ in with_weekends] == ["Sat", "Sun", "Mon"]


def test_free_slots_start_on_quarter_hours_inside_the_asked_window():
    hours = WorkingHours(ZoneInfo("UTC"), time(9), time(18))
    slots = free_slots([], at("2030-05-06T09:07+00:00"), at("2030-05-06T10:30+00:00"), timedelta(minutes=30), hours)
    assert [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in slots] == [("09:15", "09:45"), ("09:45", "10:15")]


@pytest.fixture
def hooked(start_platform, database_url):
    """The platform with a plugin answering ``busy_intervals``, on SQLite and PostgreSQL."""
    from tests.conftest import platform_env

    busy_source.BUSY.clear()
    busy_source.NOTICE.clear()
    yield start_platform(platform_env(database_url), plugins=[("busy_source", busy_source)])
    busy_source.BUSY.clear()
    busy_source.NOTICE.clear()


def _user_id(platform, browser) -> int:
    from core.models import User

    browser.get(platform.api(APPOINTMENTS))  # first sight creates the user
    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id="alice").one().id


def test_busy_intervals_hook_feeds_availability_and_conflicts(hooked):
    alice = hooked.browser("alice", "org-a")
    busy_source.BUSY[_user_id(hooked, alice)] = [(at("2030-05-06T10:00+00:00"), at("2030-05-06T11:00+00:00"))]
    booked = alice.post(hooked.api(APPOINTMENTS), json={
        "title": "Checkup", "starts_at": "2030-05-06T14:00:00+00:00", "ends_at": "2030-05-06T14:30:00+00:00"})
    assert booked.status_code == 201, booked.text

    answer = alice.get(hooked.api(AVAILABILITY), params={
        "from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T16:00:00+00:00", "duration": 60})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(b["start"][11:16], b["end"][11:16]) for b in body["busy"]] == [("10:00", "11:00"), ("14:00", "14:30")]
    assert [f["start"][11:16] for f in body["free"]] == ["09:00", "11:00", "12:00", "13:00", "14:30"]
    assert body["users"] == [{"user": "alice", "busy": body["busy"], "notices": []}]

    refused = alice.post(hooked.api(APPOINTMENTS), json={
        "title": "Overlaps", "starts_at": "2030-05-06T10:30:00+00:00", "ends_at": "2030-05-06T11:30:00+00:00"})
    assert refused.status_code == 409
    assert refused.json()["status"] == "Conflict" and refused.json()["errors"] == {
        "reason": "conflict", "busy": [{"start": "2030-05-06T10:30:00+00:00", "end": "2030-05-06T11:00:00+00:00"}]}
    moved = alice.patch(hooked.api(f"{APPOINTMENTS}/{booked.json()['id']}"), json={
        "starts_at": "2030-05-06T10:45:00+00:00", "ends_at": "2030-05-06T11:15:00+00:00"})
    assert moved.status_code == 409
    nudged = alice.patch(hooked.api(f"{APPOINTMENTS}/{booked.json()['id']}"), json={
        "starts_at": "2030-05-06T14:15:00+00:00", "ends_at": "2030-05-06T14:45:00+00:00"})
    assert nudged.status_code == 200, "an appointment never conflicts with itself"
    forced = alice.post(hooked.api(APPOINTMENTS), json={
        "title": "Overlaps", "starts_at": "2030-05-06T10:30:00+00:00", "ends_at": "2030-05-06T11:30:00+00:00",
        "allow_conflict": True})
    assert forced.status_code == 201 and "allow_conflict" not in forced.json()
    cancelled = alice.patch(hooked.api(f"{APPOINTMENTS}/{forced.json()['id']}"), json={"status": "cancelled"})
    assert cancelled.status_code == 200, "cancelling never conflicts"
    restored = alice.patch(hooked.api(f"{APPOINTMENTS}/{forced.json()['id']}"), json={"status": "scheduled"})
    assert restored.status_code == 409, "restoring into a busy time does"


def test_incomplete_answers_are_shown_as_notices(hooked):
    alice = hooked.browser("alice", "org-a")
    busy_source.NOTICE.update(notice="reconnect_required", message="Reconnect to enable availability.")
    body = alice.get(hooked.api(AVAILABILITY), params={
        "from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T10:00:00+00:00"}).json()
    assert body["users"][0]["notices"] == [{"source": "busy_source", "reason": "reconnect_required",
                                            "message": "Reconnect to enable availability."}]
    assert [f["start"][11:16] for f in body["free"]] == ["09:00", "09:30"]


@pytest.mark.parametrize("params, field", [
    ({"to": "2030-05-06T08:00:00+00:00"}, "to"),
    ({"to": "2030-07-06T08:00:00+00:00"}, "to"),
    ({"from": "2030-05-06T08:00:00"}, "from"),
    ({"duration": 2}, "duration"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"working_hours": "18:00-09:00"}, "working_hours"),
    ({"working_hours": "9h-18h"}, "working_hours"),
    ({"user": ",".join(f"u{n}" for n in range(21))}, "user"),
])
def test_bad_questions_are_422_naming_the_field(hooked, params, field):
    question = {"from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T18:00:00+00:00", **params}
    answer = hooked.browser("alice", "org-a").get(hooked.api(AVAILABILITY), params=question)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["errors"]["query"]


def test_dates_out_of_range_are_422_naming_the_field_never_500(hooked):
    alice = hooked.browser("alice", "org-a")
    for start, end, field in (
        ("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+14:00", "from"),  # before year 1 in UTC
        ("9999-12-31T00:00:00-10:00", "9999-12-31T20:00:00-10:00", "to"),  # after year 9999 in UTC
        ("9999-12-30T00:00:00+00:00", "9999-12-31T23:00:00+00:00", "to"),  # the day after overflows
        ("0001-01-01T00:00:00+00:00", "0001-01-03T00:00:00+00:00", "from"),  # the day before overflows
        ("2030-01-01T00:00:00+00:00", "9999-12-31T00:00:00+00:00", "to"),
        ("2030-01-01T00:00:00+00:00", "2030-03-01T00:00:00+00:00", "to"),  # longer than 31 days
    ):
        answer = alice.get(hooked.api(AVAILABILITY), params={"from": start, "to": end},
                           headers={"Accept-Language": "en"})
        assert answer.status_code == 422, (start, end, answer.text)
        words = answer.json()["errors"]["query"][field]
        assert words in (["Give a date-time in the years 1900 to 2999."], ["Ask for at most 31 days at a time."])
    booked = alice.post(hooked.api(APPOINTMENTS), json={"title": "t", "starts_at": "2030-01-01T10:00:00+00:00",
                                                        "ends_at": "2030-01-01T11:00:00+00:00"})
    for body, field in (({"starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
                        ({"ends_at": "9999-12-31T20:00:00-10:00"}, "ends_at"),
                        ({"ends_at": "2030-03-01T00:00:00+00:00"}, "ends_at")):
        moved = alice.patch(hooked.api(f"{APPOINTMENTS}/{booked.json()['id']}"), json=body)
        assert moved.status_code == 422, (body, moved.text)
        assert list(moved.json()["errors"]["json"]) == [field]


def test_other_users_availability_is_refused_or_unknown(hooked):
    question = {"from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T18:00:00+00:00"}
    hooked.browser("bob", "org-a").get(hooked.api(APPOINTMENTS))
    hooked.browser("bob", "org-b").get(hooked.api(APPOINTMENTS))
    alice = hooked.browser("alice", "org-a")
    assert alice.get(hooked.api(AVAILABILITY), params={**question, "user": "bob"}).status_code == 403
    assert alice.get(hooked.api(AVAILABILITY), params={**question, "user": "nobody"}).status_code == 404
    assert alice.get(hooked.api(AVAILABILITY), params={**question, "user": "me,alice"}).json()["users"][0][
        "user"] == "alice"
    assert hooked.browser().get(hooked.api(AVAILABILITY), params=question).status_code == 401


def test_a_configured_role_sees_colleagues_availability(start_platform, database_url):
    from tests.conftest import platform_env

    platform = start_platform(platform_env(database_url, JWT_ROLE_CLAIM="cassius_roles",
                                           APPOINTMENT_WRITE_ROLES="secretary"))
    for sub, hour in (("alice", "09"), ("bob", "10")):
        booked = platform.browser(sub, "org-a").post(platform.api(APPOINTMENTS), json={
            "title": "Checkup", "starts_at": f"2030-05-06T{hour}:00:00+00:00", "ends_at": f"2030-05-06T{hour}:30:00+00:00"})
        assert booked.status_code == 201, booked.text
    question = {"from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T11:00:00+00:00", "user": "alice,bob"}
    secretary = platform.browser("carol", "org-a", roles=("secretary",))
    body = secretary.get(platform.api(AVAILABILITY), params=question).json()
    assert [u["user"] for u in body["users"]] == ["alice", "bob"]
    assert [(b["start"][11:16], b["end"][11:16]) for b in body["busy"]] == [("09:00", "09:30"), ("10:00", "10:30")]
    assert [f["start"][11:16] for f in body["free"]] == ["09:30", "10:30"]
    assert platform.browser("bob", "org-a").get(platform.api(AVAILABILITY), params=question).status_code == 403


def test_colleagues_are_looked_up_in_one_query(start_platform, tmp_path):
    from sqlalchemy import event

    from tests.conftest import platform_env

    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/colleagues.db", JWT_ROLE_CLAIM="cassius_roles",
                                           APPOINTMENT_WRITE_ROLES="secretary"))
    colleagues = [f"u{n}" for n in range(6)]
    for sub in colleagues:
        assert platform.browser(sub, "org-a").get(platform.api(APPOINTMENTS)).status_code == 200  # first sight
    secretary = platform.browser("carol", "org-a", roles=("secretary",))
    secretary.get(platform.api(APPOINTMENTS))
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = platform.ext("db").engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        question = {"from": "2030-05-06T09:00:00+00:00", "to": "2030-05-06T11:00:00+00:00",
                    "user": ",".join(["me", *colleagues])}
        answer = secretary.get(platform.api(AVAILABILITY), params=question)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [u["user"] for u in answer.json()["users"]] == ["carol", *colleagues]
    reads_of_users = [s for s in statements if "FROM users" in s]
    assert len(reads_of_users) == 1, reads_of_users
