"""Core's action interface: validation naming the field, not-connected errors, the REST endpoint."""
import pytest

from core import ConnectorError, NeedsReauth, NotFound, RateLimited

from tests.conftest import platform_env
from tests.sample_plugins import almanac, weather

FORECAST = "/api/v1/connectors/weather/actions/forecast"


@pytest.fixture
def weather_platform(start_platform, database_url):
    return start_platform(platform_env(database_url), plugins=[("weather", weather), ("almanac", almanac)])


def test_action_needs_connection_then_runs(weather_platform):
    p = weather_platform
    user = p.browser("u1", "o1")
    response = user.post(p.api(FORECAST), json={"city": "Lyon"})
    assert response.status_code == 409 and response.json()["errors"]["reason"] == "not_connected"
    bad = user.post(p.api("/api/v1/connectors/weather/config"), json={"api_key": "bad"})
    assert bad.status_code == 422 and "refused" in bad.json()["message"]
    assert user.get(p.api("/api/v1/connectors/weather")).json()["connected"] is False
    good = user.post(p.api("/api/v1/connectors/weather/config"), json={"api_key": "k-123"})
    assert good.status_code == 200 and good.json()["config"] == {"api_key": "••••••••"}
    assert "k-123" not in good.text
    assert user.post(p.api(FORECAST), json={"city": "Lyon", "days": 3}).json() == {
        "result": {"city": "Lyon", "days": 3, "sky": "clear"}}
    other = p.browser("u2", "o2")
    assert other.post(p.api(FORECAST), json={"city": "Lyon"}).status_code == 409


@pytest.mark.parametrize("arguments, field", [
    ({}, "city"), ({"city": 3}, "city"), ({"city": "x", "days": "two"}, "days"),
    ({"city": "x", "days": True}, "days"), ({"city": "x", "wind": 1}, "wind"),
])
def test_invalid_arguments_name_the_field(weather_platform, arguments, field):
    p = weather_platform
    user = p.browser("u1", "o1")
    user.post(p.api("/api/v1/connectors/weather/config"), json={"api_key": "k"})
    response = user.post(p.api(FORECAST), json=arguments)
    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": "invalid_input", "field": field}


def test_unknown_action_and_connector(weather_platform):
    p = weather_platform
    user = p.browser("u1", "o1")
    assert user.post(p.api("/api/v1/connectors/weather/actions/nope"), json={}).status_code == 404
    assert user.post(p.api("/api/v1/connectors/nope/actions/x"), json={}).status_code == 404


def test_a_code_builds_the_typed_error():
    """One error mapping: ``ConnectorError(code=...)`` of a typed code is that typed error."""
    error = ConnectorError("Refused.", code="needs_reauth", field="api_key")
    assert isinstance(error, NeedsReauth) and (error.code, error.http_status, error.details) == (
        "needs_reauth", 409, {"field": "api_key"})
    assert isinstance(ConnectorError("Slow down.", code="rate_limited"), RateLimited)
    assert isinstance(ConnectorError("Gone.", code="not_found"), NotFound)
    plain = ConnectorError("Odd.", code="something_else")
    assert type(plain) is ConnectorError and (plain.code, plain.http_status) == ("something_else", 502)


def test_a_needs_reauth_code_marks_the_connection(weather_platform):
    p = weather_platform
    user = p.browser("u1", "o1")
    user.post(p.api("/api/v1/connectors/almanac/config"), json={"api_key": "k"})
    response = user.post(p.api("/api/v1/connectors/almanac/actions/alerts"), json={})
    assert response.status_code == 409 and response.json()["errors"]["reason"] == "needs_reauth"
    status = user.get(p.api("/api/v1/connectors/almanac")).json()
    assert (status["status"], status["connected"]) == ("needs_reauth", False)
    assert status["last_error"] == "The almanac no longer accepts this API key."
    again = user.post(p.api("/api/v1/connectors/almanac/actions/observed"), json={})
    assert again.status_code == 409 and again.json()["errors"]["reason"] == "needs_reauth"
    assert again.json()["message"] == "The almanac no longer accepts this API key."


def test_dates_in_results_are_iso_8601(weather_platform):
    p = weather_platform
    user = p.browser("u1", "o1")
    user.post(p.api("/api/v1/connectors/almanac/config"), json={"api_key": "k"})
    expected = {"at": "2030-05-01T09:30:00+00:00", "day": "2030-05-01", "naive": "2030-05-01T09:30:00"}
    rest = user.post(p.api("/api/v1/connectors/almanac/actions/observed"), json={})
    assert rest.status_code == 200 and rest.json() == {"result": expected}
    tool = user.post(p.api("/api/v1/tools/almanac__observed/invoke"), json={})
    assert tool.status_code == 200 and tool.json() == {"ok": True, "result": expected}


def test_a_result_json_cannot_carry_is_an_internal_error(weather_platform):
    p = weather_platform
    user = p.browser("u1", "o1")
    user.post(p.api("/api/v1/connectors/almanac/config"), json={"api_key": "k"})
    tool = user.post(p.api("/api/v1/tools/almanac__station/invoke"), json={})
    assert tool.status_code == 200
    assert tool.json()["ok"] is False and tool.json()["error"]["code"] == "internal_error"
    assert "object" not in tool.json()["error"]["message"]
    rest = user.post(p.api("/api/v1/connectors/almanac/actions/station"), json={})
    assert rest.status_code == 500 and rest.json()["code"] == 500 and "object" not in rest.text
    assert user.post(p.api("/api/v1/connectors/almanac/actions/observed"), json={}).status_code == 200  # carries on
