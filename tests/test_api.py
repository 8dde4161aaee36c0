"""The API's contract: one JSON error shape for every status, OpenAPI, health probes."""
import types

import pytest
from flask import Blueprint

from core import ConfigField, ConnectorSpec, hookimpl
from tests.conftest import platform_env

CONTRACT_PATHS = {
    "/api/v1/connectors", "/api/v1/connectors/{key}", "/api/v1/connectors/{key}/redirect",
    "/api/v1/connectors/{key}/callback", "/api/v1/connectors/{key}/config",
    "/api/v1/connectors/{key}/settings", "/api/v1/connectors/{key}/revoke",
    "/api/v1/connectors/google_calendar/calendars",
}


def _exploding_plugin():
    blp = Blueprint("boom", __name__)

    @blp.get("/explode")
    def explode():
        raise RuntimeError("internal detail sk-live-123")

    module = types.ModuleType("boom")
    module.register_connectors = hookimpl(lambda: [ConnectorSpec(
        key="boom", name="Boom", kind="config", provider="boom",
        fields=(ConfigField("port", "Port", type="integer"),), validate=lambda values: "ok")])
    module.register_routes = hookimpl(lambda: [("boom", blp)])
    return module


@pytest.fixture
def api(start_platform, tmp_path):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/api.db"), plugins=[("boom", _exploding_plugin())])


def _assert_error_shape(response, status):
    body = response.json()
    assert response.status_code == status and response.headers["Content-Type"].startswith("application/json")
    assert body["code"] == status and isinstance(body["status"], str) and body["status"]
    assert set(body) <= {"code", "status", "message", "errors"}
    return body


def test_every_error_status_is_json(api):
    user = api.browser("u", "o")
    _assert_error_shape(api.browser().get(api.api("/api/v1/connectors")), 401)
    assert "Not Found" == _assert_error_shape(user.get(api.api("/api/v1/connectors/nope")), 404)["status"]
    _assert_error_shape(user.get(api.api("/api/v1/nothing-here")), 404)
    _assert_error_shape(user.delete(api.api("/api/v1/connectors")), 405)
    _assert_error_shape(user.get(api.api("/api/v1/connectors/boom/redirect")), 400)
    body = _assert_error_shape(user.post(api.api("/api/v1/connectors/boom/config"), json={"port": "x"}), 422)
    assert body["errors"] == {"json": {"port": ["Nombre entier non valide."]}}  # field errors in French too
    _assert_error_shape(user.post(api.api("/api/v1/connectors/boom/config"), data="[1]"), 415)  # not sent as JSON
    _assert_error_shape(user.post(api.api("/api/v1/connectors/boom/config"), json=[1]), 422)
    body = _assert_error_shape(user.get(api.api("/api/v1/connectors/google_calendar/redirect")), 503)
    # The user is told to ask; the variable is for the operator (grid's missing_variables, the log).
    assert "administrateur" in body["message"] and "GOOGLE_CLIENT_ID" not in body["message"]
    crash = user.get(api.api("/api/v1/connectors/boom/explode"))
    assert _assert_error_shape(crash, 500)["message"].startswith("Un problème est survenu")
    assert "sk-live-123" not in crash.text and "Traceback" not in crash.text


def test_unconfigured_connector_listed_with_variable(api):
    grid = {c["key"]: c for c in api.browser("u", "o").get(api.api("/api/v1/connectors")).json()}
    assert grid["google_calendar"]["status"] == "not_configured"
    assert grid["google_calendar"]["missing_variables"] == ["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"]


def test_openapi_document_lists_the_contract(api):
    spec = api.browser().get(api.api("/api/v1/openapi.json")).json()
    assert CONTRACT_PATHS <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["session"]["scheme"] == "bearer"


def test_health_probes(api):
    assert api.browser().get(api.api("/healthz")).json() == {"status": "ok"}
    ready = api.browser().get(api.api("/readyz"))
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


def test_readiness_reports_redis_down(start_platform, tmp_path, redis_server):
    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/r.db", REDIS_URL=redis_server.url))
    assert platform.browser().get(platform.api("/readyz")).json()["checks"]["redis"] == "ok"
    redis_server.stop()
    try:
        down = platform.browser().get(platform.api("/readyz"))
        assert down.status_code == 503 and down.json()["checks"]["redis"].startswith("unavailable")
    finally:
        redis_server.start()
