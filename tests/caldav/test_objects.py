"""Conditional writes of calendar objects against Radicale: If-None-Match, If-Match, 412, 404/410."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import ConnectorError
from plugins.caldav import client, ical, objects
from tests.caldav.conftest import USERS

START = datetime(2030, 5, 1, 7, 0, tzinfo=UTC)
END = datetime(2030, 5, 1, 7, 30, tzinfo=UTC)
OURS = {ical.X_APPOINTMENT: "7", ical.X_ORG: "o1"}


@pytest.fixture(autouse=True)
def private_hosts(monkeypatch):
    monkeypatch.setenv("CONNECTORS_ALLOW_PRIVATE_HOSTS", "1")


def body(title="Consultation", start=START, end=END) -> str:
    return ical.to_ical(ical.EventData(ical.appointment_uid("o1", 7), title, start, end, properties=OURS))


@pytest.fixture
def target(caldav_proxy):
    """An account through the proxy, and the object URL of appointment 7 in alice's Cabinet."""
    account = client.Account(caldav_proxy.url, "alice", USERS["alice"])
    url = account.url_of("/alice/cabinet/") + ical.object_name(ical.appointment_uid("o1", 7))
    return account, url


def test_create_then_retry_after_a_lost_answer_makes_no_duplicate(radicale, caldav_proxy, target):
    account, url = target
    caldav_proxy.inject(502, method="PUT", forward=True)  # Radicale stores it; the answer is lost
    with client.connect(account) as dav:
        with pytest.raises(ConnectorError):
            objects.create(dav, url, body(), OURS)
        etag = objects.create(dav, url, body("Consultation (retried)"), OURS)
    puts = [r for r in caldav_proxy.writes() if r.method == "PUT"]
    assert [r.headers.get("If-None-Match") for r in puts] == ["*", "*", None]
    assert puts[2].headers["If-Match"]  # the 412 was settled by updating the version it read
    [stored] = radicale.events("alice", "cabinet")
    event = next(iter(stored.walk("VEVENT")))
    assert str(event["SUMMARY"]) == "Consultation (retried)" and etag


def test_update_after_an_edit_on_the_server_reconciles(radicale, caldav_proxy, target):
    account, url = target
    with client.connect(account) as dav:
        etag = objects.create(dav, url, body(), OURS)
    with radicale.client("alice") as other:  # the user edits the event in their calendar app
        event = other.calendar(url=f"{radicale.url}/alice/cabinet/").event_by_uid(ical.appointment_uid("o1", 7))
        event.icalendar_component["SUMMARY"] = "Edited on the phone"
        event.save()
    caldav_proxy.requests.clear()
    with client.connect(account) as dav:
        new_etag = objects.update(dav, url, body("Moved", start=START.replace(hour=8), end=END.replace(hour=8)),
                                  etag, OURS)
    assert [(r.method, r.status) for r in caldav_proxy.requests] == [("PUT", 412), ("GET", 200), ("PUT", 204)]
    assert new_etag and new_etag != etag
    event = next(iter(radicale.events("alice", "cabinet")[0].walk("VEVENT")))
    assert str(event["SUMMARY"]) == "Moved" and event["DTSTART"].dt == START.replace(hour=8)


def test_an_update_of_an_event_deleted_on_the_server_creates_it_again(radicale, target):
    account, url = target
    with client.connect(account) as dav:
        etag = objects.create(dav, url, body(), OURS)
        objects.delete(dav, url, etag, OURS)
        assert radicale.events("alice", "cabinet") == []
        objects.update(dav, url, body("Back"), etag, OURS)
    assert str(next(iter(radicale.events("alice", "cabinet")[0].walk("VEVENT")))["SUMMARY"]) == "Back"


def test_delete_of_something_already_gone_is_done(radicale, caldav_proxy, target):
    account, url = target
    with client.connect(account) as dav:
        objects.delete(dav, url, '"stale-etag"', OURS)
        caldav_proxy.inject(410, method="DELETE")
        objects.delete(dav, url, '"stale-etag"', OURS)
    assert [r.status for r in caldav_proxy.writes()] == [404, 410]


def test_delete_after_an_edit_on_the_server(radicale, target):
    account, url = target
    with client.connect(account) as dav:
        etag = objects.create(dav, url, body(), OURS)
        objects.update(dav, url, body("Changed"), etag, OURS)  # the ETag we hold is now stale
        objects.delete(dav, url, etag, OURS)
    assert radicale.events("alice", "cabinet") == []


def test_an_event_that_is_not_ours_is_left_alone(radicale, target):
    account, url = target
    foreign = ical.to_ical(ical.EventData(ical.appointment_uid("o1", 7), "Someone else's", START, END))
    with client.connect(account) as dav:
        objects.create(dav, url, foreign, {"UID": ical.appointment_uid("o1", 7)})
        with pytest.raises(objects.NotOurs):
            objects.create(dav, url, body(), OURS)
        with pytest.raises(objects.NotOurs):
            objects.delete(dav, url, None, OURS)
    assert str(next(iter(radicale.events("alice", "cabinet")[0].walk("VEVENT")))["SUMMARY"]) == "Someone else's"


def test_server_errors_and_rate_limits_are_worth_retrying(radicale, caldav_proxy, target):
    from core import RateLimited

    account, url = target
    with client.connect(account) as dav:
        caldav_proxy.inject(500, method="PUT")
        with pytest.raises(ConnectorError) as failed:
            objects.create(dav, url, body(), OURS)
        assert not isinstance(failed.value, objects.Refused)
        caldav_proxy.inject(429, method="PUT")
        with pytest.raises(RateLimited):
            objects.create(dav, url, body(), OURS)
        caldav_proxy.inject(403, method="PUT")
        with pytest.raises(ConnectorError):
            objects.create(dav, url, body(), OURS)
    assert radicale.events("alice", "cabinet") == []


def test_a_calendar_id_cannot_leave_the_server():
    account = client.Account("https://caldav.example.com/dav/", "alice", "pw")
    assert account.url_of("/dav/cal/") == "https://caldav.example.com/dav/cal/"
    for bad in ("//evil.example/x/", "https://evil.example/x/", "cal/", "/x\\y"):
        with pytest.raises(ConnectorError):
            account.url_of(bad)


def test_a_calendar_that_is_gone_is_said_so(radicale, target):
    account, _ = target
    url = account.url_of("/alice/deleted-calendar/") + ical.object_name(ical.appointment_uid("o1", 7))
    with client.connect(account) as dav, pytest.raises(objects.CalendarMissing):
        objects.create(dav, url, body(), OURS)
