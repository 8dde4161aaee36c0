"""``GET /api/v1/tools`` and ``POST /api/v1/tools/<name>/invoke`` over real HTTP."""
import pytest

from core import ConnectorSpec, hookimpl
from core.spec import Action
from tests.conftest import connect_google, platform_env
from tests.sample_plugins import weather
from voice_tools import schemas

PLATFORM_TOOLS = ["list_connectors", "activate_connector", "find_free_slots", "create_appointment", "list_events",
                  "create_project", "upload_file"]


def invoke(browser, platform, name, arguments=None):
    """POST one invocation; return the JSON answer (status 200 asserted)."""
    response = browser.post(platform.api(f"/api/v1/tools/{name}/invoke"), json=arguments or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_tools_need_a_session(tools_platform):
    p = tools_platform
    anonymous = p.browser()
    assert anonymous.get(p.api("/api/v1/tools")).status_code == 401
    assert anonymous.post(p.api("/api/v1/tools/list_connectors/invoke"), json={}).status_code == 401


def test_a_new_user_gets_the_platform_tools_and_donna(tools_platform):
    p = tools_platform
    user = p.browser("u1", "o1")
    setup = user.get(p.api("/api/v1/tools"), headers={"Accept-Language": "en-GB,en;q=0.9"}).json()
    assert [t["name"] for t in setup["tools"]] == PLATFORM_TOOLS
    assert (setup["model"], setup["voice"], setup["locale"]) == ("gpt-realtime", "marin", "en")
    assert setup["instructions"].startswith("You are Donna") and "Weather" in setup["instructions"]
    french = user.get(p.api("/api/v1/tools")).json()  # no Accept-Language: French first
    assert french["locale"] == "fr" and french["instructions"].startswith("Tu es Donna")
    forced = user.get(p.api("/api/v1/tools?locale=en"), headers={"Accept-Language": "fr"}).json()
    assert forced["locale"] == "en"
    activate = next(t for t in setup["tools"] if t["name"] == "activate_connector")
    assert "google_calendar" in activate["parameters"]["properties"]["key"]["enum"]


def test_schemas_are_not_generated_per_request(tools_platform, monkeypatch):
    def fail(*_args):
        raise AssertionError("schemas are built once per app")

    monkeypatch.setattr(schemas, "function_tool", fail)
    monkeypatch.setattr(schemas, "parameters_schema", fail)
    user = tools_platform.browser("u1", "o1")
    assert user.get(tools_platform.api("/api/v1/tools")).status_code == 200


def test_list_and_activate_connectors(tools_platform, google):
    p = tools_platform
    user = p.browser("u1", "o1")
    listed = invoke(user, p, "list_connectors")["result"]
    by_key = {row["key"]: row for row in listed}
    assert by_key["google_calendar"]["status"] == "inactive"
    assert by_key["slack"]["status"] == "not_configured"
    assert by_key["weather"]["tools"] == ["weather__forecast"]

    started = invoke(user, p, "activate_connector", {"key": "google_calendar"})["result"]
    assert started["authorization_url"] == p.api("/api/v1/connectors/google_calendar/redirect")
    redirect = user.get(started["authorization_url"], allow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith(google.url)
    assert "connectors_oauth" in redirect.headers["Set-Cookie"]

    config = invoke(user, p, "activate_connector", {"key": "weather"})["result"]
    assert config["kind"] == "config" and config["fields"][0]["name"] == "api_key" and config["fields"][0]["secret"]
    assert "authorization_url" not in config

    slack = invoke(user, p, "activate_connector", {"key": "slack"})
    assert slack["ok"] is False and slack["error"]["code"] == "not_configured"
    unknown = invoke(user, p, "activate_connector", {"key": "nope"})
    assert unknown["error"]["code"] == "invalid_input" and unknown["error"]["field"] == "key"
    missing = invoke(user, p, "activate_connector", {})
    assert missing["error"] == {"code": "invalid_input", "field": "key",
                                "message": "« key » est obligatoire : The connector's key, from list_connectors."}


def test_tools_of_inactive_connectors_say_how_to_connect(tools_platform):
    p = tools_platform
    user = p.browser("u1", "o1")
    for name in ("list_events", "google_calendar__create_event"):
        answer = invoke(user, p, name, {"title": "x", "start": "2030-01-01T09:00"})
        assert answer["ok"] is False
        assert answer["error"]["code"] == "not_connected"
        assert answer["error"]["authorization_url"] == p.api("/api/v1/connectors/google_calendar/redirect")
    weather_answer = invoke(user, p, "weather__forecast", {"city": "Lyon"})["error"]
    assert weather_answer["code"] == "not_connected" and "dashboard" in weather_answer["message"]
    assert "authorization_url" not in weather_answer


def test_a_config_connector_tool_runs_once_connected(tools_platform):
    p = tools_platform
    user = p.browser("u1", "o1")
    assert user.post(p.api("/api/v1/connectors/weather/config"), json={"api_key": "k"}).status_code == 200
    names = [t["name"] for t in user.get(p.api("/api/v1/tools")).json()["tools"]]
    assert names == PLATFORM_TOOLS + ["weather__forecast"]
    assert invoke(user, p, "weather__forecast", {"city": "Lyon", "days": None}) == {
        "ok": True, "result": {"city": "Lyon", "days": 1, "sky": "clear"}}
    bad = invoke(user, p, "weather__forecast", {"city": "Lyon", "days": "two"})
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_input" and bad["error"]["field"] == "days"
    listed = {row["key"]: row for row in invoke(user, p, "list_connectors")["result"]}
    assert listed["weather"]["status"] == "active" and listed["weather"]["account"] == "weather account"


def test_unknown_tool_is_a_404(tools_platform):
    p = tools_platform
    response = p.browser("u1", "o1").post(p.api("/api/v1/tools/nope/invoke"), json={})
    assert response.status_code == 404 and response.json()["errors"]["reason"] == "not_found"


def test_another_users_connector_is_never_reachable(start_platform, database_url, google):
    p = start_platform(platform_env(database_url, google))
    alice, bob = p.browser("alice", "o1"), p.browser("bob", "o1")
    assert connect_google(p, alice, google, "alice@example.com")["status"] == "success"
    alice_tools = [t["name"] for t in alice.get(p.api("/api/v1/tools")).json()["tools"]]
    assert "google_calendar__list_events" in alice_tools
    assert "google_calendar__list_events" not in [t["name"] for t in bob.get(p.api("/api/v1/tools")).json()["tools"]]
    calls = google.calendar_calls
    for name in ("google_calendar__list_events", "list_events"):
        answer = invoke(bob, p, name, {"day": "2030-01-01"})
        assert answer["error"]["code"] == "not_connected"
    assert google.calendar_calls == calls


class Crashing:
    """A plugin whose action has a bug."""

    @hookimpl
    def register_connectors(self):
        def explode(ctx):
            raise RuntimeError("secret detail")

        return [ConnectorSpec(key="crashing", name="Crashing", kind="config", provider="crashing",
                              fields=weather.CONNECTOR.fields, validate=weather.validate,
                              actions=(Action("explode", "Always fails.", explode),))]


@pytest.fixture
def crashing_platform(start_platform, sqlite_url):
    return start_platform(platform_env(sqlite_url), plugins=[("crashing", Crashing())])


def test_a_plugin_bug_is_a_structured_error_without_details(crashing_platform):
    p = crashing_platform
    user = p.browser("u1", "o1")
    user.post(p.api("/api/v1/connectors/crashing/config"), json={"api_key": "k"})
    answer = invoke(user, p, "crashing__explode")
    assert answer["ok"] is False and answer["error"]["code"] == "internal_error"
    assert "secret detail" not in str(answer)
