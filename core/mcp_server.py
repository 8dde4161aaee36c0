"""The agent tools over the Model Context Protocol (stdio and streamable HTTP).

Any MCP client (an IDE, another agent) lists and calls the same tools as the voice agent,
as the user named by a session JWT: ``--token`` / ``CONNECTORS_SESSION_TOKEN`` over stdio,
``Authorization: Bearer`` over HTTP. The token is verified again on every call, and the
tools are :mod:`voice_tools`' — same availability, validation and structured results.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings

from core.auth import AuthError
from core.db import get_session
from core.errors import ConnectorError
from voice_tools.dispatcher import ToolCall, invoke, offered

SERVER_NAME = "connectors"
INSTRUCTIONS = ("Tools of the connector platform, run as the signed-in user. Call list_connectors to see what is "
                "connected; activate_connector gives the link that connects a service.")


class SessionTokens:
    """The MCP SDK's token verifier, backed by the platform's session-JWT verifier."""

    def __init__(self, app):
        self.verifier = app.extensions["connectors.verifier"]

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's claims as an :class:`AccessToken`, or None when it is not a valid session."""
        try:
            claims = await anyio.to_thread.run_sync(self.verifier.verify, token)
        except AuthError:
            return None
        return AccessToken(token=token, client_id=SERVER_NAME, scopes=[], expires_at=claims.get("exp"),
                           subject=claims["sub"], claims=claims)


def as_user(app, token: str | None, work: Callable[[ToolCall], object]):
    """Run ``work`` with the :class:`ToolCall` of the token's user (blocking: call from a thread)."""
    if not token:
        raise AuthError("Sign in: pass a session token")
    verifier = app.extensions["connectors.verifier"]
    claims = verifier.verify(token)
    with app.app_context():  # its teardown closes the session, if one was opened
        user = app.extensions["connectors.users"].user(get_session, str(claims[verifier.config.jwt_org_claim]),
                                                       claims["sub"])
        return work(ToolCall(app.extensions, get_session, user))


def build_server(app, token_of: Callable[[], str | None]) -> Server:
    """An MCP server whose tools are those of the user ``token_of()`` names at each request."""

    async def list_tools(ctx, params) -> types.ListToolsResult:
        schemas = await anyio.to_thread.run_sync(as_user, app, token_of(), offered)
        return types.ListToolsResult(tools=[types.Tool(name=s["name"], description=s["description"],
                                                       input_schema=s["parameters"]) for s in schemas])

    async def call_tool(ctx, params) -> types.CallToolResult:
        work = partial(_invoke, params.name, params.arguments or {})
        try:
            result = await anyio.to_thread.run_sync(as_user, app, token_of(), work)
        except AuthError as exc:
            result = {"ok": False, "error": {"code": "unauthorized", "message": str(exc)}}
        return types.CallToolResult(content=[types.TextContent(text=json.dumps(result, default=str))],
                                    structured_content=result, is_error=not result["ok"])

    return Server(SERVER_NAME, instructions=INSTRUCTIONS, on_list_tools=list_tools, on_call_tool=call_tool)


def _invoke(name: str, arguments: dict, call: ToolCall) -> dict:
    try:
        return invoke(call, name, arguments)
    except ConnectorError as exc:  # an unknown tool name
        return {"ok": False, "error": {"code": exc.code, "message": exc.message}}


def _bearer_token() -> str | None:
    access = get_access_token()
    return access.token if access else None


def http_app(app, host: str = "127.0.0.1", path: str = "/mcp"):
    """A Starlette app serving streamable HTTP at ``path``; every request needs a Bearer session."""
    server = build_server(app, _bearer_token)
    auth = AuthSettings(issuer_url=app.extensions["connectors.config"].backend_url, resource_server_url=None)
    return server.streamable_http_app(streamable_http_path=path, stateless_http=True, host=host, auth=auth,
                                      token_verifier=SessionTokens(app))


def serve_stdio(app, token: str) -> None:
    """Serve MCP on stdin/stdout as the user of ``token`` (checked now and on every call)."""
    from mcp.server.stdio import stdio_server

    app.extensions["connectors.verifier"].verify(token)
    server = build_server(app, lambda: token)

    async def run():
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)


def serve_http(app, host: str, port: int, path: str = "/mcp") -> None:
    """Serve MCP over streamable HTTP with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(http_app(app, host, path), host=host, port=port, log_level="warning")
