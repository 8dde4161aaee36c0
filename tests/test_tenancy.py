"""Every tenant-facing route called by another organization's user: 404 / 409, never data."""
from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, CALENDAR, new_appointment

SECRETS = ("alice@example.com", "Alice's private consultation", "work-alice")


def test_another_org_never_sees_or_touches_data(platform, fake_google):
    alice, eve = platform.browser("alice", "org-a"), platform.browser("alice", "org-evil")
    connect_google(platform, alice, fake_google, "alice@example.com")
    mine = new_appointment(platform, alice, "Alice's private consultation")
    item = f"{APPOINTMENTS}/{mine['id']}"

    answers = {
        ("GET", "/api/v1/connectors"): None,
        ("GET", CALENDAR): None,
        ("GET", CALENDAR + "/calendars"): 409,
        ("GET", APPOINTMENTS): 200,
        ("GET", item): 404,
        ("PATCH", item): 404,
        ("DELETE", item): 404,
        ("POST", CALENDAR + "/actions/list_events"): 409,
        ("GET", "/api/v1/tools"): 200,
        ("POST", "/api/v1/tools/google_calendar__list_events/invoke"): None,
        ("GET", "/api/integrations/google/status"): None,
        ("GET", "/api/integrations/google/calendars"): 409,
        ("PATCH", CALENDAR + "/settings"): None,
        ("POST", CALENDAR + "/sync-now"): None,
        ("POST", CALENDAR + "/revoke"): None,
    }
    bodies = {"PATCH": {"title": "stolen"}, "POST": {}}
    for (method, path), status in answers.items():
        body = {"calendar_id": "primary"} if path.endswith("/settings") else bodies.get(method)
        response = eve.request(method, platform.api(path), json=body)
        if status is not None:
            assert response.status_code == status, (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)
        for secret in SECRETS:
            assert secret not in response.text, (method, path)
    assert eve.get(platform.api(APPOINTMENTS)).json() == []
    assert eve.get(platform.api(CALENDAR)).json()["connected"] is False

    still = alice.get(platform.api(item)).json()
    assert still["title"] == "Alice's private consultation" and still["status"] == "scheduled"
    assert alice.get(platform.api(CALENDAR)).json()["account"] == "alice@example.com"
    assert [e["summary"] for e in fake_google.events("alice@example.com")] == ["Alice's private consultation"]
