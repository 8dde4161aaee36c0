"""Tool schemas: strict for every action of every installed plugin, names, and locales."""
import json
import os
import re
import subprocess
from copy import deepcopy

import pytest
from agents.strict_schema import ensure_strict_json_schema

from core.plugins import PluginRegistry
from core.spec import Action, ActionParam
from tests.sample_plugins import weather
from tests.test_cli import CONNECTORS
from voice_tools import ToolCatalog
from voice_tools.schemas import SchemaError, param_schema, tool_name

NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
FORBIDDEN = {"allOf", "not", "if", "then", "else"}


@pytest.fixture(scope="module")
def registry():
    """Every plugin installed through entry points, plus the sample third-party plugin."""
    registry = PluginRegistry()
    registry.load_entry_points()
    registry.add(weather, name="weather")
    return registry


def _keywords(schema):
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from _keywords(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _keywords(value)


def test_every_action_of_every_plugin_is_a_strict_tool(registry):
    catalog = ToolCatalog(registry)
    actions = [(spec.key, action.name) for spec in registry.connectors.values() for action in spec.actions]
    assert ("weather", "forecast") in actions and ("google_calendar", "create_event") in actions
    assert catalog.skipped == {}
    tools = catalog.every()
    assert len(tools) == len(actions) + len(catalog.platform)
    assert len({t.name for t in tools}) == len(tools)
    for tool in tools:
        schema = tool.schema
        assert schema["type"] == "function" and NAME.match(schema["name"]) and schema["description"]
        parameters = schema["parameters"]
        assert ensure_strict_json_schema(deepcopy(parameters)) == parameters, schema["name"]
        assert not FORBIDDEN & set(_keywords(parameters)), schema["name"]
        assert set(parameters["required"]) == set(parameters["properties"])


def test_optional_parameters_are_null_unions(registry):
    forecast = ToolCatalog(registry).find("weather__forecast").schema["parameters"]["properties"]
    assert forecast["city"] == {"type": "string", "description": "City name"}
    assert forecast["days"] == {"type": ["integer", "null"], "description": "How many days"}
    optional_enum = param_schema(ActionParam("unit", "string", "Unit.", required=False, enum=("c", "f")))
    assert optional_enum["enum"] == ["c", "f", None]
    listed = param_schema(ActionParam("tags", "array[string]", "Tags."))
    assert listed["items"] == {"type": "string"}
    wrapped = {"type": "object", "properties": {"tags": listed}, "required": ["tags"], "additionalProperties": False}
    assert ensure_strict_json_schema(deepcopy(wrapped)) == wrapped


def test_names_are_sanitised_and_bounded():
    assert tool_name("google_calendar", "list_events") == "google_calendar__list_events"
    assert tool_name("my-plugin", "do.it") == "my_plugin__do_it"
    long_a, long_b = tool_name("c" * 40, "a" * 40), tool_name("c" * 40, "a" * 39 + "b")
    assert len(long_a) == len(long_b) == 64 and long_a != long_b and NAME.match(long_a)


def test_an_action_with_an_unsupported_type_is_skipped_with_a_reason():
    from core import ConnectorSpec, hookimpl

    class Loose:
        @hookimpl
        def register_connectors(self):
            return [ConnectorSpec(key="loose", name="Loose", kind="config", provider="loose",
                                  fields=weather.CONNECTOR.fields, validate=weather.validate,
                                  actions=(Action("free", "Anything.", weather.forecast,
                                                  (ActionParam("blob", "object", "Any object."),)),
                                           weather.CONNECTOR.actions[0]))]

    registry = PluginRegistry()
    registry.add(Loose(), name="loose")
    catalog = ToolCatalog(registry)
    with pytest.raises(SchemaError, match="blob"):
        param_schema(ActionParam("blob", "object", "Any object."))
    assert "object" in catalog.skipped["loose.free"]
    assert [t.name for t in catalog.by_connector["loose"]] == ["loose__forecast"]


def test_connectors_tools_prints_all_schemas_or_one_users(tools_platform):
    env = {**os.environ, **tools_platform.config.environ}
    every = json.loads(subprocess.run([CONNECTORS, "tools"], env=env, capture_output=True, text=True,
                                      check=True).stdout)
    assert {"list_connectors", "google_calendar__create_event", "gmail__send_email"} <= {t["name"] for t in every}
    mine = json.loads(subprocess.run([CONNECTORS, "tools", "--user", "u1", "--org", "o1", "--locale", "fr"], env=env,
                                     capture_output=True, text=True, check=True).stdout)
    assert mine["instructions"].startswith("Tu es Donna") and mine["voice"] == "marin"
    assert [t["name"] for t in mine["tools"]] == ["list_connectors", "activate_connector", "find_free_slots",
                                                  "create_appointment", "list_events", "create_project", "upload_file"]
