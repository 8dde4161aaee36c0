"""CalDAV busy times feed availability and booking conflicts, read from a real Radicale server."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.caldav.conftest import USERS
from tests.conftest import platform_env
from tests.connectors.helpers import accepted_config
from tests.sample_plugins import busy_source
from tests.sync.conftest import wait_until

AVAILABILITY = "/api/v1/availability"
APPOINTMENTS = "/api/v1/appointments"
SETTINGS = "/api/v1/connectors/caldav/settings"
STATUS = "/api/v1/connectors/caldav"
DAY = {"from": "2030-05-06T06:00:00+00:00", "to": "2030-05-06T18:00:00+00:00", "duration": 30}


def at(hour: int, day: int = 6) -> datetime:
    return datetime(2030, 5, day, hour, tzinfo=UTC)


def put_events(radicale, user: str, slug: str = "cabinet") -> None:
    """Events made on the server by another client: one opaque, one "show as free", one cancelled,
    one daily for three days, and one in the calendar that is not the sync target."""
    with radicale.client(user) as other:
        calendar = other.calendar(url=f"{radicale.url}/{user}/{slug}/")
        calendar.save_event(dtstart=at(10), dtend=at(11), summary="Rendez-vous privé", location="Chez le notaire")
        calendar.save_event(dtstart=at(12), dtend=at(13), summary="Déjeuner", transp="TRANSPARENT")
        calendar.save_event(dtstart=at(14), dtend=at(15), summary="Annulé", status="CANCELLED")
        calendar.save_event(dtstart=at(7), dtend=at(8), summary="Gym", rrule={"FREQ": "DAILY", "COUNT": 3})
        perso = other.calendar(url=f"{radicale.url}/{user}/perso/")
        perso.save_event(dtstart=at(16), dtend=at(17), summary="Autre agenda")


def connect(platform, browser, url: str, user: str, account: str | None = None) -> None:
    account = account or user
    accepted_config(platform, browser, "caldav", {"url": url, "username": account, "password": USERS[account]},
                    "password")
    answer = browser.patch(platform.api(SETTINGS), json={"calendar_id": f"/{account}/cabinet/"})
    assert answer.status_code == 200, answer.text


def user_id(platform, sub: str, org: str) -> int:
    from core.models import User

    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id=sub, org_id=org).one().id


def hours(intervals) -> list[tuple[str, str]]:
    return [(b["start"][11:16], b["end"][11:16]) for b in intervals]


@pytest.fixture
def platform(start_platform, database_url):
    """The platform with the CalDAV connector and a second busy source, on SQLite and PostgreSQL."""
    busy_source.BUSY.clear()
    busy_source.NOTICE.clear()
    yield start_platform(platform_env(database_url), plugins=[("busy_source", busy_source)])
    busy_source.BUSY.clear()


def test_server_events_make_the_user_busy_and_bookings_conflict(platform, radicale, caldav_proxy):
    put_events(radicale, "alice")
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice")
    caldav_proxy.requests.clear()

    answer = alice.get(platform.api(AVAILABILITY), params=DAY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # The daily event and the opaque one; "show as free", cancelled and the other calendar do not count.
    assert hours(body["busy"]) == [("07:00", "08:00"), ("10:00", "11:00")]
    assert body["users"][0]["notices"] == []
    for private in ("Rendez-vous privé", "notaire", "Gym", "Déjeuner"):
        assert private not in answer.text  # instants only, never what the events are
    [report] = [r for r in caldav_proxy.requests if r.method == "REPORT"]  # one free-busy-query for the week
    assert report.path == "/alice/cabinet/"
    tuesday = alice.get(platform.api(AVAILABILITY), params={**DAY, "from": "2030-05-07T06:00:00+00:00",
                                                           "to": "2030-05-07T12:00:00+00:00"}).json()
    assert hours(tuesday["busy"]) == [("07:00", "08:00")]  # the recurring event, expanded

    refused = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Consultation", "starts_at": "2030-05-06T10:30:00+00:00", "ends_at": "2030-05-06T11:30:00+00:00"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"] == {"reason": "conflict", "busy": [
        {"start": "2030-05-06T10:30:00+00:00", "end": "2030-05-06T11:00:00+00:00"}]}
    assert len([r for r in caldav_proxy.requests if r.method == "REPORT"]) == 1, "the answer is cached"
    free = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Consultation", "starts_at": "2030-05-06T12:00:00+00:00", "ends_at": "2030-05-06T12:30:00+00:00"})
    assert free.status_code == 201, "a transparent event leaves the time free"
    cancelled_slot = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Bilan", "starts_at": "2030-05-06T14:00:00+00:00", "ends_at": "2030-05-06T14:30:00+00:00"})
    assert cancelled_slot.status_code == 201, "a cancelled event leaves the time free"


def test_a_server_without_free_busy_is_asked_with_a_calendar_query(platform, radicale, caldav_proxy):
    put_events(radicale, "alice")
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice")
    caldav_proxy.requests.clear()
    caldav_proxy.inject(501, method="REPORT")  # the free-busy-query: "not implemented here"

    body = alice.get(platform.api(AVAILABILITY), params=DAY).json()
    assert hours(body["busy"]) == [("07:00", "08:00"), ("10:00", "11:00")]
    assert body["users"][0]["notices"] == []
    statuses = [r.status for r in caldav_proxy.requests if r.method == "REPORT"]
    assert statuses[0] == 501 and statuses[1:] and all(s == 207 for s in statuses[1:])


def test_a_refused_login_leaves_availability_answering_with_a_notice(platform, radicale, caldav_proxy):
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice")
    booked = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Consultation", "starts_at": "2030-05-06T15:00:00+00:00", "ends_at": "2030-05-06T15:30:00+00:00"})
    assert booked.status_code == 201, booked.text
    busy_source.BUSY[user_id(platform, "alice", "org-a")] = [(at(9), at(10))]  # another source of busy times
    radicale.add_user("alice", "a-new-password")  # the app password was revoked on the server

    answer = alice.get(platform.api(AVAILABILITY), params=DAY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [notice] = body["users"][0]["notices"]
    assert notice["source"] == "caldav" and notice["reason"] == "unavailable"
    assert notice["message"].startswith("Les disponibilités CalDAV n’ont pas pu être lues")
    assert "a-new-password" not in answer.text and USERS["alice"] not in answer.text
    # The appointments and the other source still count.
    assert hours(body["busy"]) == [("09:00", "10:00"), ("15:00", "15:30")]
    again = alice.post(platform.api(APPOINTMENTS), json={
        "title": "Bilan", "starts_at": "2030-05-06T11:00:00+00:00", "ends_at": "2030-05-06T11:30:00+00:00"})
    assert again.status_code == 201, "a CalDAV server that cannot be read does not stop bookings"

    # Its sync is refused too and marks the connection: then availability asks for a new app password.
    wait_until(lambda: alice.get(platform.api(STATUS)).json()["status"] == "needs_reauth", what="needs_reauth")
    caldav_proxy.requests.clear()
    [notice] = alice.get(platform.api(AVAILABILITY), params=DAY).json()["users"][0]["notices"]
    assert notice["reason"] == "reconnect_required" and "nouveau mot de passe d’application" in notice["message"]
    assert caldav_proxy.requests == []


def test_two_orgs_see_only_their_own_calendar(platform, radicale, caldav_proxy):
    put_events(radicale, "alice")
    in_a = platform.browser("alice", "org-a")
    in_b = platform.browser("alice", "org-b")  # the same name in another organization: another person
    connect(platform, in_a, caldav_proxy.url, "alice")
    connect(platform, in_b, caldav_proxy.url, "alice", account="bob")

    assert hours(in_a.get(platform.api(AVAILABILITY), params=DAY).json()["busy"]) == [
        ("07:00", "08:00"), ("10:00", "11:00")]
    assert in_b.get(platform.api(AVAILABILITY), params=DAY).json()["busy"] == []
    assert in_b.post(platform.api(APPOINTMENTS), json={
        "title": "Visite", "starts_at": "2030-05-06T10:00:00+00:00",
        "ends_at": "2030-05-06T10:30:00+00:00"}).status_code == 201
    reports = {r.path for r in caldav_proxy.requests if r.method == "REPORT"}
    assert reports == {"/alice/cabinet/", "/bob/cabinet/"}


def test_sync_switched_off_means_no_call_and_no_busy_time(platform, radicale, caldav_proxy):
    put_events(radicale, "alice")
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice")
    assert alice.patch(platform.api(SETTINGS), json={"sync_enabled": False}).status_code == 200
    caldav_proxy.requests.clear()

    body = alice.get(platform.api(AVAILABILITY), params=DAY).json()
    assert body["busy"] == [] and body["users"][0]["notices"] == []
    assert caldav_proxy.requests == []
