"""Each installed connector in the OpenAPI document: what its config, settings and actions accept.

An apispec plugin (flask-smorest's ``extra_plugins``) adds, per connector, the components
``<Key>Config`` (a config connector's fields), ``<Key>Settings`` and ``<Key><Action>Args`` (each
action's parameters, from the same declarations as the agent tools), and makes the request body of
the generic routes ``POST /connectors/{key}/config``, ``PATCH …/settings`` and ``POST
…/actions/{name}`` ``anyOf`` those components. Field schemas say what ``core.api.forms`` checks.
The names come from ``core.component_names``; the plugin registry refuses a connector whose name
is taken, so none is renamed or overwritten here.
"""
from __future__ import annotations

from apispec import BasePlugin

from core.component_names import action_name, config_name, settings_name
from voice_tools.schemas import param_schema

PREFIX = "/api/v1/connectors/{key}"
_FIELDS = {
    "string": lambda f: {"type": "string", "maxLength": 2048},
    "url": lambda f: {"type": "string", "format": "uri"},
    "email": lambda f: {"type": "string", "format": "email"},
    "integer": lambda f: {"type": "integer", "minimum": 0, "maximum": 2**31},
    "boolean": lambda f: {"type": "boolean"},
    "choice": lambda f: {"type": "string", "enum": list(f.choices)},
    "list": lambda f: {"type": "array", "maxItems": 50, "uniqueItems": True,
                       "items": {"type": "string", "maxLength": 2048}},
}


def field_schema(f) -> dict:
    """One declared :class:`core.ConfigField` as an OpenAPI 3.0 schema."""
    schema = _FIELDS[f.type](f)
    schema["title"] = str(f.label)
    if f.help:
        schema["description"] = str(f.help)
    if f.secret:
        schema["writeOnly"] = True
        if schema["type"] == "string" and "format" not in schema:
            schema["format"] = "password"
    if not f.required:
        schema["nullable"] = True
    if f.default is not None:
        schema["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
    return schema


def fields_schema(declared, *, partial: bool = False) -> dict:
    """The object a connector's fields (or, ``partial``, its settings) accept."""
    schema = {"type": "object", "additionalProperties": False,
              "properties": {f.name: field_schema(f) for f in declared}}
    required = [f.name for f in declared if f.required and f.default is None and not partial]
    if required:
        schema["required"] = required
    return schema


def action_schema(action) -> dict:
    """An action's arguments: the agent tool's parameter schemas, optional ones ``nullable``."""
    properties = {}
    for param in action.params:
        schema = param_schema(param)
        if isinstance(schema["type"], list):  # JSON Schema's null union is OpenAPI 3.0's nullable
            schema["type"], schema["nullable"] = schema["type"][0], True
            if "enum" in schema:
                schema["enum"] = [value for value in schema["enum"] if value is not None]
        properties[param.name] = schema
    schema = {"type": "object", "additionalProperties": False, "properties": properties,
              "description": str(action.description)}
    required = [p.name for p in action.params if p.required]
    if required:
        schema["required"] = required
    return schema


class ConnectorComponents(BasePlugin):
    """Adds every installed connector's components and references them from the generic routes."""

    def __init__(self, registry):
        self.registry = registry
        self.bodies: dict[tuple[str, str], list[str]] = {}

    def init_spec(self, spec):
        configs, settings, actions = [], [], []
        for spec_ in sorted(self.registry.connectors.values(), key=lambda c: c.key):
            if spec_.kind == "config" and spec_.fields:
                configs.append(self._add(spec, config_name(spec_.key), fields_schema(spec_.fields),
                                         f"What POST {PREFIX.replace('{key}', spec_.key)}/config accepts"))
            if spec_.settings:
                settings.append(self._add(spec, settings_name(spec_.key),
                                          fields_schema(spec_.settings, partial=True),
                                          f"What PATCH {PREFIX.replace('{key}', spec_.key)}/settings accepts"))
            for action in spec_.actions:
                try:
                    schema = action_schema(action)
                except ValueError:  # a parameter type no schema expresses: the tools catalog reports it
                    continue
                actions.append(self._add(spec, action_name(spec_.key, action.name), schema))
        self.bodies = {(PREFIX + "/config", "post"): configs, (PREFIX + "/settings", "patch"): settings,
                       (PREFIX + "/actions/{name}", "post"): actions}

    @staticmethod
    def _add(spec, name: str, schema: dict, description: str | None = None) -> str:
        if description and "description" not in schema:
            schema = {**schema, "description": description}
        spec.components.schema(name, schema)
        return name

    def operation_helper(self, path=None, operations=None, **kwargs):
        for (route, method), names in self.bodies.items():
            operation = (operations or {}).get(method)
            if path != route or operation is None or not names:
                continue
            content = operation.setdefault("requestBody", {}).setdefault("content", {})
            content["application/json"] = {"schema": {
                "type": "object", "anyOf": [{"$ref": f"#/components/schemas/{name}"} for name in names]}}
