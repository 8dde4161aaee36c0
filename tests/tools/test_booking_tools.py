"""The booking tools: ``find_free_slots`` and the conflict-aware ``create_appointment``."""
from agents.strict_schema import ensure_strict_json_schema

from tests.conftest import connect_google
from tests.tools.test_tools_api import invoke


def test_booking_tools_have_strict_schemas(tools_platform):
    tools = {t["name"]: t for t in tools_platform.browser("u1", "o1").get(
        tools_platform.api("/api/v1/tools")).json()["tools"]}
    for name in ("find_free_slots", "create_appointment"):
        schema = tools[name]["parameters"]
        assert ensure_strict_json_schema(schema) == schema
        assert set(schema["required"]) == set(schema["properties"]) and schema["additionalProperties"] is False
    assert tools["find_free_slots"]["parameters"]["properties"]["from"]["type"] == "string"


def test_find_a_slot_then_book_it_around_google_busy_times(tools_platform, google):
    p = tools_platform
    alice = p.browser("alice", "org-a")
    connect_google(p, alice, google, "alice@example.com")
    google.add_event("alice@example.com", {"summary": "Dentist", "start": {"dateTime": "2030-05-07T14:00:00+02:00"},
                                           "end": {"dateTime": "2030-05-07T15:00:00+02:00"}})
    found = invoke(alice, p, "find_free_slots", {"duration_minutes": 30, "from": "2030-05-07T13:00:00",
                                                  "to": "2030-05-07T18:00:00", "timezone": "Europe/Paris"})
    assert found["ok"], found
    assert [s["start"][11:16] for s in found["result"]["free"]][:3] == ["13:00", "13:30", "15:00"]
    assert found["result"]["busy"] == [{"start": "2030-05-07T14:00:00+02:00", "end": "2030-05-07T15:00:00+02:00"}]
    assert "Dentist" not in str(found)

    clash = invoke(alice, p, "create_appointment", {"title": "Consultation", "start": "2030-05-07T14:30:00",
                                                     "duration_minutes": 30, "timezone": "Europe/Paris"})
    assert clash["ok"] is False and clash["error"]["code"] == "conflict"
    assert clash["error"]["busy"] == [{"start": "2030-05-07T14:30:00+02:00", "end": "2030-05-07T15:00:00+02:00"}]
    assert clash["error"]["next_free"][0] == {"start": "2030-05-07T15:00:00+02:00", "end": "2030-05-07T15:30:00+02:00"}
    assert [e["summary"] for e in google.events("alice@example.com")] == ["Dentist"]

    booked = invoke(alice, p, "create_appointment", {"title": "Consultation", "start": "2030-05-07T15:00:00+02:00",
                                                      "duration_minutes": 30, "timezone": "Europe/Paris"})
    assert booked["ok"] and booked["result"]["start"] == "2030-05-07T15:00:00+02:00"
    assert sorted(e["summary"] for e in google.events("alice@example.com")) == ["Consultation", "Dentist"]
    forced = invoke(alice, p, "create_appointment", {"title": "Urgent", "start": "2030-05-07T14:30:00+02:00",
                                                      "duration_minutes": 15, "allow_conflict": True})
    assert forced["ok"]
    bad = invoke(alice, p, "find_free_slots", {"duration_minutes": 30, "from": "tomorrow", "to": "2030-05-07T18:00"})
    assert bad["error"]["code"] == "invalid_input" and bad["error"]["field"] == "from"
