"""core.http_client and the generic OAuthSpec extensions (JSON token bodies, response normaliser)."""
from types import SimpleNamespace

import pytest

from core.errors import ConnectorError
from core.http_client import (
    TokenRejected,
    call_with_token,
    error_for_status,
    request_json,
    retry_after,
)
from core.oauth.provider import OAuthProvider
from core.spec import ConnectorSpec, OAuthSpec
from tests.fakes.http import FakeServer, json_response, route


class Echo(FakeServer):
    @route("*", r"/echo")
    def echo(self, request):
        return json_response({"auth": request.headers.get("authorization"), "type": request.headers.get("content-type"),
                              "body": request.body.decode()})


@pytest.fixture
def echo():
    with Echo() as server:
        yield server


def provider(url, **oauth):
    spec = OAuthSpec(env_prefix="X", authorize_url=url, token_url=url + "/echo", scopes=("a",), **oauth)
    return OAuthProvider("x", "id", "secret", "http://cb", url, url + "/echo", None, None, spec)


def test_json_token_body_and_normalised_response(echo):
    seen = []

    def normalise(data):
        seen.append(data)
        return {"access_token": "t", "token_type": "Bearer"}

    client = provider(echo.url, token_endpoint_auth_method="client_secret_basic", token_request_format="json",
                      token_response=normalise, request_scopes=False).session()
    token = client.fetch_token(echo.url + "/echo", code="c", grant_type="authorization_code")
    assert token["access_token"] == "t"
    [sent] = seen
    assert sent["type"] == "application/json" and sent["auth"].startswith("Basic ")
    assert '"code": "c"' in sent["body"] and "client_secret" not in sent["body"] and "scope" not in sent["body"]


def test_spec_refuses_an_unknown_token_request_format():
    spec = ConnectorSpec(key="xx", name="X", kind="oauth2", provider="x", oauth=OAuthSpec(
        env_prefix="X", authorize_url="u", token_url="u", scopes=("a",), token_request_format="xml"))
    assert any("token_request_format" in p for p in spec.problems())


def test_call_with_token_refreshes_once_then_gives_up():
    tokens = iter(["t1", "t2"])
    ctx = SimpleNamespace(access_token=lambda rejected=None: next(tokens))

    def refuse_t1(token):
        if token == "t1":
            raise TokenRejected("no")
        return token

    assert call_with_token(ctx, refuse_t1) == "t2"
    tokens = iter(["t1", "t2"])
    with pytest.raises(TokenRejected):
        call_with_token(ctx, lambda token: refuse_t1("t1"))


def test_request_json_maps_statuses(echo):
    assert request_json("GET", echo.url + "/echo", "tok", provider="X")["auth"] == "Bearer tok"
    echo.inject(429, headers={"Retry-After": "9"})
    with pytest.raises(ConnectorError) as limited:
        request_json("GET", echo.url + "/echo", "tok", provider="X")
    assert (limited.value.code, limited.value.details) == ("rate_limited", {"retry_after": 9})
    assert isinstance(error_for_status("X", 401), TokenRejected)
    assert [error_for_status("X", s).code for s in (404, 422, 403, 500)] == [
        "not_found", "invalid_input", "provider_error", "provider_error"]
    assert retry_after({"Retry-After": "soon"}) is None
