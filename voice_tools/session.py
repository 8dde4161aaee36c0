"""The agent one user talks to: model, voice, instructions and tools, as the server fixes them.

The same setup goes into the Realtime client secret (server side) and to the browser
(``GET /api/v1/tools``), whose SDK sends its own ``session.update`` and must mirror it.
"""
from __future__ import annotations

from datetime import UTC, datetime

from voice_tools import instructions
from voice_tools.dispatcher import ToolCall, offered

VOICE = "marin"


def agent_setup(call: ToolCall, locale: str) -> dict:
    """``{model, voice, locale, instructions, tools}`` for ``call.user``."""
    active = call.active_keys()
    specs = sorted(call.registry.connectors.values(), key=lambda s: s.name)
    connected = {s.name: [t.name for t in call.catalog.by_connector.get(s.key, ())] for s in specs if s.key in active}
    others = [s.name for s in specs if s.key not in active]
    today = datetime.now(UTC).date()
    return {
        "model": call.config.openai_realtime_model,
        "voice": VOICE,
        "locale": locale,
        "instructions": instructions.donna(locale, connected, others, today),
        "tools": offered(call),
    }


def realtime_session(setup: dict) -> dict:
    """The ``session`` of ``client.realtime.client_secrets.create`` for ``setup``."""
    return {"type": "realtime", "model": setup["model"], "instructions": setup["instructions"],
            "audio": {"output": {"voice": setup["voice"]}}, "tools": setup["tools"]}
