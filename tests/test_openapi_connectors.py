"""Each installed connector in ``/api/v1/openapi.json``: its config fields, settings and action
parameters as components, referenced by the generic routes' request bodies."""
import pytest

from tests.conftest import platform_env
from tests.sample_plugins import weather

REF = "#/components/schemas/"


@pytest.fixture
def document(start_platform, tmp_path):
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/o.db"), plugins=[("weather", weather)])
    return platform.browser().get(platform.api("/api/v1/openapi.json")).json()


def body_refs(document, path, method):
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return {ref["$ref"].removeprefix(REF) for ref in schema["anyOf"]}


def test_a_plugins_connector_appears_as_components(document):
    schemas = document["components"]["schemas"]
    config = schemas["WeatherConfig"]
    assert config["required"] == ["api_key"] and config["additionalProperties"] is False
    assert config["properties"]["api_key"] == {"type": "string", "maxLength": 2048, "title": "API key",
                                               "writeOnly": True, "format": "password"}
    forecast = schemas["WeatherForecastArgs"]
    assert forecast["required"] == ["city"]
    assert forecast["properties"]["days"] == {"type": "integer", "nullable": True, "description": "How many days"}
    settings = schemas["GoogleCalendarSettings"]
    assert "required" not in settings and settings["properties"]["sync_enabled"]["type"] == "boolean"
    assert schemas["SlackPostMessageArgs"]["required"] == ["channel", "text"]


def test_the_generic_routes_reference_them(document):
    prefix = "/api/v1/connectors/{key}"
    assert {"WeatherConfig", "HostingerConfig", "TwilioConfig"} <= body_refs(document, prefix + "/config", "post")
    assert "GoogleCalendarConfig" not in document["components"]["schemas"]  # OAuth: no config body
    assert "GoogleCalendarSettings" in body_refs(document, prefix + "/settings", "patch")
    actions = body_refs(document, prefix + "/actions/{name}", "post")
    assert {"WeatherForecastArgs", "SlackPostMessageArgs", "GoogleCalendarCreateEventArgs"} <= actions

