"""The tool catalogue of one app: every tool its plugins make possible, built once.

A :class:`voice_tools.schemas.Tool` pairs a function-tool schema with what runs it: an
action of a connector (connector tools and platform aliases) or a platform action that
receives the :class:`voice_tools.dispatcher.ToolCall`. Which tools one user is offered
depends on the connectors that user has active; see :meth:`ToolCatalog.offered`.
"""
from __future__ import annotations

import logging

from voice_tools import platform
from voice_tools.schemas import SchemaError, Tool, action_tool

log = logging.getLogger(__name__)


class ToolCatalog:
    """Schemas generated once per plugin set: platform tools plus one tool per action."""

    def __init__(self, registry):
        self.platform: list[Tool] = platform.tools(registry)
        #: Every installed connector's display name, by key.
        self.names: dict[str, str] = {spec.key: spec.name for spec in registry.connectors.values()}
        self.by_connector: dict[str, list[Tool]] = {}
        self.skipped: dict[str, str] = {}
        for spec in sorted(registry.connectors.values(), key=lambda s: s.key):
            for action in spec.actions:
                try:
                    tool = action_tool(spec, action)
                except SchemaError as exc:
                    self.skipped[f"{spec.key}.{action.name}"] = str(exc)
                    log.error("No tool for action %s of %s: %s", action.name, spec.key, exc)
                    continue
                self.by_connector.setdefault(spec.key, []).append(tool)
        self.by_name: dict[str, Tool] = {t.name: t for t in self.every()}

    def every(self) -> list[Tool]:
        """Every tool of every installed connector, platform tools first."""
        return self.platform + [t for key in sorted(self.by_connector) for t in self.by_connector[key]]

    def offered(self, active_keys) -> list[Tool]:
        """What a user with ``active_keys`` connected may call: platform tools, then theirs."""
        return self.platform + [t for key in sorted(active_keys) for t in self.by_connector.get(key, ())]

    def find(self, name: str) -> Tool | None:
        """The tool called ``name``, offered or not (the dispatcher checks the connection)."""
        return self.by_name.get(name)
