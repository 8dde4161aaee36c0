"""Each installed connector in ``/api/v1/openapi.json``: its config fields, settings and action
parameters as components, referenced by the generic routes' request bodies."""
import pytest

from core.component_names import CORE_NAMES, SUFFIXES, component_names
from tests.conftest import platform_env
from tests.sample_plugins import namesakes, weather

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



def test_core_reserves_exactly_its_own_names_that_end_like_a_connectors(start_platform, tmp_path):
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/n.db"), plugins=[("weather", weather)])
    registry = platform.app.extensions["connectors.registry"]
    schemas = platform.browser().get(platform.api("/api/v1/openapi.json")).json()["components"]["schemas"]
    connectors = {name for spec in registry.connectors.values() for name, _ in component_names(spec)}
    assert connectors == set(registry.components) and connectors <= set(schemas)
    assert {name for name in set(schemas) - connectors if name.endswith(SUFFIXES)} == CORE_NAMES


def test_a_connector_whose_component_name_is_taken_is_refused_and_reported(start_platform, tmp_path):
    plugins = [("foo_1", namesakes.Fine), ("foo1", namesakes.SameSpelling), ("client", namesakes.CoreName),
               ("slack_post", namesakes.BuiltInName), ("tide", namesakes.Twins), ("weather", weather)]
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/t.db"), plugins=plugins)
    registry = platform.app.extensions["connectors.registry"]
    status = {name: registry.plugins[name].status for name, _ in plugins}
    assert status == {"foo_1": "ok", "foo1": "broken", "client": "broken", "slack_post": "broken",
                      "tide": "broken", "weather": "ok"}
    errors = {name: registry.plugins[name].error for name, _ in plugins}
    assert errors["foo1"] == ("plugin 'foo1': connector 'foo1''s config fields would be the OpenAPI component "
                              "'Foo1Config', already taken by connector 'foo_1' of plugin 'foo_1'")
    assert "'ClientSecretArgs', already taken by one of core's own schemas" in errors["client"]
    assert "'SlackPostMessageArgs', already taken by connector 'slack' of built-in plugin 'slack'" in \
        errors["slack_post"]
    assert errors["tide"].endswith("connector 'tide''s action 'high1' would be the OpenAPI component "
                                   "'TideHigh1Args', already taken by connector 'tide''s action 'high_1'")
    assert not {"foo1", "client", "slack_post", "tide"} & set(registry.connectors)

    document = platform.browser().get(platform.api("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if name[-1].isdigit() and name.rstrip("0123456789") in schemas]
    assert list(schemas["Foo1Config"]["properties"]) == ["first"]
    assert list(schemas["ClientSecretArgs"]["properties"]) == ["locale"]  # core's, not the plugin's
    assert schemas["SlackPostMessageArgs"]["required"] == ["channel", "text"]
    assert "TideHigh1Args" not in schemas
