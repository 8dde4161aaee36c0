"""Core's action interface: validation naming the field, not-connected errors, the REST endpoint."""
import pytest

from tests.conftest import platform_env
from tests.sample_plugins import weather

FORECAST = "/api/v1/connectors/weather/actions/forecast"


@pytest.fixture
def weather_platform(start_platform, database_url):
    return start_platform(platform_env(database_url), plugins=[("weather", weather)])


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
