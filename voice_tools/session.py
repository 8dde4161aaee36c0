"""The agent one user talks to: model, voice, instructions and tools, as the server fixes them.

The same setup goes into the Realtime client secret (server side) and to the browser
(``GET /api/v1/tools``), whose SDK sends its own ``session.update`` and must mirror it.

A setup depends only on the app's tool catalogue, the model, which connectors the user has
active, the locale and the date; it is built once per such combination and shared.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import lru_cache

from voice_tools import instructions
from voice_tools.dispatcher import ToolCall

VOICE = "marin"


def agent_setup(call: ToolCall, locale: str) -> dict:
    """``{model, voice, locale, instructions, tools}`` for ``call.user`` (shared: do not modify)."""
    return _setup(*_setup_key(call, locale))


def agent_setup_json(call: ToolCall, locale: str) -> bytes:
    """:func:`agent_setup` serialized as JSON, for HTTP responses."""
    return _setup_json(*_setup_key(call, locale))


def realtime_session(setup: dict) -> dict:
    """The ``session`` of ``client.realtime.client_secrets.create`` for ``setup``."""
    return {"type": "realtime", "model": setup["model"], "instructions": setup["instructions"],
            "audio": {"output": {"voice": setup["voice"]}}, "tools": setup["tools"]}


def _setup_key(call: ToolCall, locale: str) -> tuple:
    return (call.catalog, call.config.openai_realtime_model, frozenset(call.active_keys()), locale,
            datetime.now(UTC).date())


@lru_cache(maxsize=1024)
def _setup(catalog, model: str, active: frozenset, locale: str, today: date) -> dict:
    names = sorted(catalog.names.items(), key=lambda item: item[1])
    connected = {name: [t.name for t in catalog.by_connector.get(key, ())] for key, name in names if key in active}
    others = [name for key, name in names if key not in active]
    return {
        "model": model,
        "voice": VOICE,
        "locale": locale,
        "instructions": instructions.donna(locale, connected, others, today),
        "tools": [tool.schema for tool in catalog.offered(active)],
    }


@lru_cache(maxsize=1024)
def _setup_json(*key) -> bytes:
    return json.dumps(_setup(*key), ensure_ascii=False).encode()
