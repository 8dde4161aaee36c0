"""The MCP server: an in-process and an HTTP ``mcp`` client list the same tools and call one."""
import os
import threading
import time

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from core.mcp_server import build_server, http_app
from tests.services import free_port
from tests.test_cli import CONNECTORS


@pytest.fixture
def weather_user(tools_platform):
    """A user with the sample weather connector active; returns their session token."""
    p = tools_platform
    user = p.browser("u1", "o1")
    assert user.post(p.api("/api/v1/connectors/weather/config"), json={"api_key": "k"}).status_code == 200
    return p.token("u1", "o1")


@pytest.fixture
def mcp_url(tools_platform):
    """The MCP streamable-HTTP endpoint served by uvicorn on loopback."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(http_app(tools_platform.app), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(5)


async def _session(client: Client) -> tuple[list, dict, dict]:
    async with client:
        listed = await client.list_tools()
        called = await client.call_tool("weather__forecast", {"city": "Lyon", "days": 2})
        missing = await client.call_tool("google_calendar__list_events", {"day": "2030-01-01"})
    return listed.tools, called.structured_content, missing.structured_content


def _http_client(url: str, token: str) -> Client:
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=10)))


def test_in_process_and_http_clients_see_the_same_tools(tools_platform, weather_user, mcp_url):
    local_tools, local_call, local_missing = anyio.run(_session, Client(build_server(tools_platform.app,
                                                                                     lambda: weather_user)))
    http_tools, http_call, http_missing = anyio.run(_session, _http_client(mcp_url, weather_user))
    names = [t.name for t in local_tools]
    assert names == [t.name for t in http_tools]
    assert names[:2] == ["list_connectors", "activate_connector"] and "weather__forecast" in names
    forecast = next(t for t in http_tools if t.name == "weather__forecast")
    assert forecast.input_schema["required"] == ["city", "days"]
    assert local_call == http_call == {"ok": True, "result": {"city": "Lyon", "days": 2, "sky": "clear"}}
    assert local_missing["error"]["code"] == http_missing["error"]["code"] == "not_connected"
    assert http_missing["error"]["authorization_url"].endswith("/api/v1/connectors/google_calendar/redirect")


def test_http_needs_a_valid_session_token(tools_platform, mcp_url):
    anonymous = httpx2.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                            headers={"Accept": "application/json, text/event-stream"})
    assert anonymous.status_code == 401
    forged = httpx2.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                         headers={"Authorization": "Bearer not-a-jwt", "Accept": "application/json"})
    assert forged.status_code == 401


def test_an_expired_stdio_token_is_refused_per_call(tools_platform):
    expired = tools_platform.token("u1", "o1", ttl=-120)

    async def call():
        async with Client(build_server(tools_platform.app, lambda: expired)) as client:
            return (await client.call_tool("list_connectors", {})).structured_content

    answer = anyio.run(call)
    assert answer["ok"] is False and answer["error"]["code"] == "unauthorized"


def test_connectors_mcp_over_stdio(tools_platform, weather_user):
    env = {**os.environ, **tools_platform.config.environ, "CONNECTORS_SESSION_TOKEN": weather_user}
    server = StdioServerParameters(command=CONNECTORS, args=["mcp"], env=env)

    async def call():
        async with Client(server) as client:
            return (await client.call_tool("list_connectors", {})).structured_content

    answer = anyio.run(call)
    assert answer["ok"] is True and "google_calendar" in [row["key"] for row in answer["result"]]
