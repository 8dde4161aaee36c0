"""Agent tools generated from plugin actions: schemas, catalogue, dispatcher, Donna's prompt.

* :mod:`voice_tools.schemas` — an action → a strict JSON Schema function tool.
* :mod:`voice_tools.registry` — :class:`ToolCatalog`, built once per app from its plugins.
* :mod:`voice_tools.platform` — ``list_connectors``, ``activate_connector`` and the aliases.
* :mod:`voice_tools.dispatcher` — per-user availability and invocation with structured errors.
* :mod:`voice_tools.instructions` / :mod:`voice_tools.session` — Donna's prompt and session.
"""
from voice_tools.registry import ToolCatalog

__all__ = ["ToolCatalog"]
