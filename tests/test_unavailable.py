"""While the database is away, the API fails cleanly: 503 with ``Retry-After``, the one error shape."""
from __future__ import annotations

import socket

from core.app import create_app
from core.auth import mint_token
from tests.conftest import platform_env
from tests.services import free_port


def test_database_away_answers_503_with_retry_after(tmp_path):
    nobody = f"postgresql://connectors@127.0.0.1:{free_port()}/connectors"  # nothing listens there
    app = create_app(platform_env(nobody), instance_path=str(tmp_path / "instance"))
    token = mint_token(app.extensions["connectors.config"], "alice", "org-a")
    client = app.test_client()
    for method, path in (("get", "/api/v1/appointments"), ("get", "/api/v1/connectors")):
        answer = getattr(client, method)(path, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
        assert answer.status_code == 503, answer.json
        assert answer.headers["Retry-After"] == "5"
        assert answer.json == {"code": 503, "status": "Service Unavailable", "errors": {"reason": "unavailable"},
                               "message": "The service is briefly unavailable; try again in a few seconds."}
    assert client.get("/readyz").status_code == 503


def test_database_that_never_answers_costs_a_503_not_a_hung_request(tmp_path):
    silent = socket.socket()  # accepts connections (the kernel does) and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        app = create_app(platform_env(f"postgresql://connectors@127.0.0.1:{port}/connectors"),
                         instance_path=str(tmp_path / "instance"))
        token = mint_token(app.extensions["connectors.config"], "alice", "org-a")
        answer = app.test_client().get("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 503, answer.json
        assert answer.headers["Retry-After"] == "5"
    finally:
        silent.close()
