"""Plugin actions as function tools: names and strict JSON Schemas (OpenAI Realtime shape).

Strict means what OpenAI's structured outputs accept: every property is listed in
``required``, an optional one is a ``null`` union, objects close with
``additionalProperties: false``, and no ``allOf``/``not``/``if`` appears.
"""
from __future__ import annotations

import hashlib
import inspect
import re
from dataclasses import dataclass

SCALARS = ("string", "integer", "number", "boolean")
MAX_NAME = 64
_INVALID = re.compile(r"[^A-Za-z0-9_]")


class SchemaError(ValueError):
    """An action parameter has a type no strict schema can express."""


def tool_name(*parts: str) -> str:
    """``<connector>__<action>`` with every other character made ``_``, at most 64 long.

    A longer name keeps its start and ends with a short hash of the whole, so two long
    names stay distinct.
    """
    name = _INVALID.sub("_", "__".join(parts)) or "_"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_NAME - 9]}_{digest}"


def param_schema(param) -> dict:
    """The JSON Schema of one :class:`core.spec.ActionParam` (a ``null`` union when optional).

    Types: ``string``, ``integer``, ``number``, ``boolean`` and ``array[<one of those>]``.
    """
    base, _, item = param.type.partition("[")
    item = item.rstrip("]")
    if base in SCALARS and not item:
        schema = {"type": base}
    elif base == "array" and item in SCALARS:
        schema = {"type": "array", "items": {"type": item}}
    else:
        raise SchemaError(f"parameter {param.name!r} has type {param.type!r}; use one of "
                          f"{', '.join(SCALARS)} or array[<one of them>]")
    if param.enum:
        schema["enum"] = list(param.enum)
    if not param.required:
        schema["type"] = [schema["type"], "null"]
        if param.enum:
            schema["enum"].append(None)
    schema["description"] = param.description
    return schema


def parameters_schema(params) -> dict:
    """The strict object schema of a tool's arguments."""
    return {
        "type": "object",
        "properties": {p.name: param_schema(p) for p in params},
        "required": [p.name for p in params],
        "additionalProperties": False,
    }


def function_tool(name: str, description: str, params=()) -> dict:
    """A Realtime function tool: ``{type, name, description, parameters}``."""
    return {"type": "function", "name": name, "description": description,
            "parameters": parameters_schema(params)}


def describe_action(spec, action) -> str:
    """The action's description (else its function's docstring), prefixed with the connector."""
    text = action.description or (inspect.getdoc(action.run) or "").split("\n\n")[0].strip()
    return f"{spec.name}: {text}" if text else spec.name


@dataclass(frozen=True)
class Tool:
    """One tool: its schema, the :class:`core.spec.Action` behind it, and its connector (None
    for platform tools, which run as ``action.run(call, **arguments)``)."""

    name: str
    schema: dict
    action: object
    connector: str | None = None


def make_tool(name: str, description: str, action, connector: str | None = None) -> Tool:
    """A :class:`Tool` called ``name`` running ``action`` (its params make the schema)."""
    return Tool(name, function_tool(name, description, action.params), action, connector)


def action_tool(spec, action) -> Tool:
    """The tool ``<connector>__<action>`` of ``action`` of connector ``spec``."""
    return make_tool(tool_name(spec.key, action.name), describe_action(spec, action), action, spec.key)
