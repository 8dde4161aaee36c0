"""Running tools as one user: which tools they may call, validation, and structured results.

Every invocation is authorized again from the user's own connections, whatever the caller
was offered: a tool of a connector this user has not connected answers ``not_connected``
(with the link that connects it) and never reaches anybody else's credentials.

A result is ``{"ok": true, "result": …}`` or ``{"ok": false, "error": {"code", "message",
"field"?, "authorization_url"?, "retry_after"?}}``, ready for a model to speak.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select

from core.actions import json_result, run_action, validate_arguments
from core.errors import ConnectorError
from core.models import UserConnector
from voice_tools.platform import authorization_url

log = logging.getLogger(__name__)

#: Link statuses whose connector tools are offered and run (``error`` = last call failed).
USABLE = ("active", "error")
#: Error detail keys passed on to the model.
DETAILS = ("field", "retry_after", "busy", "next_free")
#: One user's connections: the only query of the tools routes, a Core ``select()`` compiled once
#: (SQLAlchemy's compiled cache) and run without an ORM session (:meth:`core.db.Database.rows`).
_LINKS = select(UserConnector.connector_code, UserConnector.status, UserConnector.account_label).where(
    UserConnector.user_id == bindparam("user_id"))


class Link(NamedTuple):
    """A user's connection to one connector, as the tools see it."""

    status: str
    account_label: str | None


@dataclass
class ToolCall:
    """One user's call context: the app's extensions, the user, and ``open_session`` that gives
    a database session (called only by a tool that needs one)."""

    ext: Mapping
    open_session: Callable[[], Any]
    user: Any

    @cached_property
    def session(self):
        """The database session of this call."""
        return self.open_session()

    @property
    def registry(self):
        return self.ext["connectors.registry"]

    @property
    def config(self):
        return self.ext["connectors.config"]

    @property
    def catalog(self):
        return self.ext["connectors.tools"]

    @cached_property
    def links(self) -> dict[str, Link]:
        """This user's connections to installed connectors: a :class:`Link` by key (read once)."""
        rows = self.ext["connectors.db"].rows(_LINKS, {"user_id": self.user.id})
        return {row[0]: Link(*row[1:]) for row in rows if self.registry.connector(row[0])}

    def active_keys(self) -> set[str]:
        """Keys of the connectors whose tools this user may call."""
        return {key for key, link in self.links.items() if link.status in USABLE}


def offered(call: ToolCall) -> list[dict]:
    """The function-tool schemas this user may call now."""
    return [tool.schema for tool in call.catalog.offered(call.active_keys())]


def invoke(call: ToolCall, name: str, arguments: Any) -> dict:
    """Run tool ``name`` as ``call.user``; raises ``ConnectorError(code="not_found")`` for an unknown name."""
    tool = call.catalog.find(name)
    if tool is None:
        raise ConnectorError(f"There is no tool {name!r}.", code="not_found")
    try:
        if tool.connector is None:
            result = json_result(tool.action.run(call, **validate_arguments(tool.action, arguments)))
        else:
            spec = call.registry.connector(tool.connector)
            result = run_action(call.session, call.ext, call.user, spec, tool.action, arguments)
    except ConnectorError as exc:
        return {"ok": False, "error": _error(call, tool, exc)}
    except Exception:  # a plugin's bug must not end the conversation; the log has the trace
        log.exception("Tool %s failed for user %s", name, call.user.id)
        return {"ok": False, "error": {"code": "internal_error",
                                       "message": "The tool failed on our side; the error was logged."}}
    return {"ok": True, "result": result}


def _error(call: ToolCall, tool, exc: ConnectorError) -> dict:
    error = {"code": exc.code, "message": exc.message}
    error.update({key: exc.details[key] for key in DETAILS if exc.details.get(key) is not None})
    if exc.code in ("not_connected", "needs_reauth") and tool.connector:
        spec = call.registry.connector(tool.connector)
        url = authorization_url(spec, call.config)
        if url:
            error["authorization_url"] = url
        elif spec.kind == "config":
            error["message"] += f" The user enters the {spec.name} settings in the dashboard."
    return error
