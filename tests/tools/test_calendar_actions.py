"""Google Calendar's list_events and create_event as tools, against the fake Calendar API."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import connect_google
from tests.tools.test_tools_api import invoke

PARIS = "paris@group.calendar.google.com"


@pytest.fixture
def alice(tools_platform, google):
    """Alice's browser, with Google Calendar connected."""
    browser = tools_platform.browser("alice", "o1")
    assert connect_google(tools_platform, browser, google, "alice@example.com")["status"] == "success"
    return browser


def test_create_then_list_in_the_primary_calendar(tools_platform, google, alice):
    p = tools_platform
    created = invoke(alice, p, "google_calendar__create_event",
                     {"title": "Dentist", "start": "2030-05-14T09:30", "duration_minutes": 45, "location": "Lyon",
                      "end": None, "timezone": None, "description": None})
    assert created["ok"] is True, created
    event = created["result"]
    assert (event["title"], event["start"], event["end"], event["calendar_id"]) == (
        "Dentist", "2030-05-14T09:30:00+00:00", "2030-05-14T10:15:00+00:00", "primary")
    (stored,) = google.events("alice@example.com")
    assert stored["summary"] == "Dentist" and stored["location"] == "Lyon" and stored["start"]["timeZone"] == "UTC"

    listed = invoke(alice, p, "list_events", {"day": "2030-05-14"})["result"]
    assert listed["count"] == 1 and listed["events"][0]["id"] == event["id"] and listed["time_zone"] == "UTC"
    same = invoke(alice, p, "google_calendar__list_events", {"day": "2030-05-14"})["result"]
    assert same == listed
    assert invoke(alice, p, "list_events", {"day": "2030-05-15"})["result"]["count"] == 0
    ranged = invoke(alice, p, "list_events", {"start": "2030-05-14T10:00", "end": "2030-05-14T12:00", "query": "dent"})
    assert ranged["result"]["count"] == 1
    rest = alice.post(p.api("/api/v1/connectors/google_calendar/actions/list_events"), json={"day": "2030-05-14"})
    assert rest.json()["result"]["count"] == 1


def test_the_calendar_and_its_time_zone_come_from_the_settings(tools_platform, google, alice):
    p = tools_platform
    assert alice.patch(p.api("/api/v1/connectors/google_calendar/settings"),
                       json={"calendar_id": PARIS}).status_code == 200
    late = invoke(alice, p, "google_calendar__create_event", {"title": "Late call", "start": "2030-05-14T23:30"})
    assert late["result"]["start"] == "2030-05-14T23:30:00+02:00" and late["result"]["calendar_id"] == PARIS
    assert [e["summary"] for e in google.events("alice@example.com", PARIS)] == ["Late call"]
    assert google.events("alice@example.com") == []
    paris_day = invoke(alice, p, "list_events", {"day": "2030-05-14"})["result"]
    assert paris_day["time_zone"] == "Europe/Paris" and paris_day["count"] == 1
    utc_day = invoke(alice, p, "list_events", {"day": "2030-05-15", "timezone": "UTC"})["result"]
    assert utc_day["count"] == 0 and utc_day["time_zone"] == "UTC"


def test_day_words_are_resolved_in_the_calendars_zone(tools_platform, alice):
    p = tools_platform
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    invoke(alice, p, "google_calendar__create_event", {"title": "Standup", "start": f"{tomorrow}T12:00"})
    assert invoke(alice, p, "list_events", {"day": "tomorrow"})["result"]["count"] == 1
    assert invoke(alice, p, "list_events", {})["result"]["count"] == 1


@pytest.mark.parametrize("name, arguments, field", [
    ("google_calendar__create_event", {"title": "x", "start": "next tuesday"}, "start"),
    ("google_calendar__create_event", {"title": "x", "start": "2030-05-14T10:00", "end": "2030-05-14T09:00"}, "end"),
    ("google_calendar__create_event", {"title": " ", "start": "2030-05-14T10:00"}, "title"),
    ("google_calendar__create_event", {"title": "x", "start": "2030-05-14T10:00", "duration_minutes": 0},
     "duration_minutes"),
    ("list_events", {"day": "someday"}, "day"),
    ("list_events", {"day": "2030-05-14", "timezone": "Mars/Olympus"}, "timezone"),
    ("list_events", {"max_results": 500}, "max_results"),
    ("list_events", {"start": 9}, "start"),
])
def test_bad_arguments_name_the_field(tools_platform, alice, name, arguments, field):
    answer = invoke(alice, tools_platform, name, arguments)
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_input"
    assert answer["error"]["field"] == field and answer["error"]["message"]


def test_a_token_refused_after_refresh_asks_to_reconnect(tools_platform, google, alice):
    """Calendar answers 401 to the token, and again to the refreshed one: the connection needs a new consent."""
    p = tools_platform
    refreshes = google.count("/token")
    google.inject(401, times=2, path_contains="/calendar/v3/")
    answer = invoke(alice, p, "list_events", {"day": "2030-05-14"})
    assert answer["ok"] is False and answer["error"]["code"] == "needs_reauth"
    assert google.count("/token") == refreshes + 1
    assert alice.get(p.api("/api/v1/connectors/google_calendar")).json()["status"] == "needs_reauth"


def test_google_out_of_reach_is_a_provider_error_not_a_crash(tools_platform, google, alice):
    """A network failure reaching Google (refused connection, unknown host) is a clean
    ``provider_error`` the agent can say, on the tool route and the REST route alike."""
    p = tools_platform
    google.stop()
    down = invoke(alice, p, "list_events", {"day": "2030-05-14"})
    assert down["ok"] is False and down["error"]["code"] == "provider_error", down
    rest = alice.post(p.api("/api/v1/connectors/google_calendar/actions/list_events"), json={"day": "2030-05-14"})
    assert rest.status_code == 502 and rest.json()["errors"]["reason"] == "provider_error"
    assert "Traceback" not in rest.text
