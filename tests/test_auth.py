"""Session tokens: pinned algorithm, required claims, refused tricks, users created on first sight."""
import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from core.auth import AuthError, TokenVerifier, mint_token
from core.config import load_config

SECRET = "k" * 48


def _config(tmp_path, **env):
    return load_config({"JWT_SECRET": SECRET, **env}, tmp_path)


def _encode(claims, key=SECRET, header=None):
    return jwt.encode(header or {"alg": "HS256"}, claims, OctKey.import_key(key))


def _claims(**over):
    now = int(time.time())
    return {"sub": "u1", "org_id": "o1", "iat": now, "exp": now + 60, **over}


def test_valid_token(tmp_path):
    assert TokenVerifier(_config(tmp_path)).verify(_encode(_claims()))["sub"] == "u1"


# Claims are made when the test runs, not when it is collected: a suite that takes longer
# than a token's 60 s would otherwise see every one of them expired.
@pytest.mark.parametrize("make_claims, match", [
    (lambda: _claims(exp=int(time.time()) - 120), "exp"),
    (lambda: {"sub": "u1", "org_id": "o1"}, "exp"),
    (lambda: _claims(nbf=int(time.time()) + 600), "not yet valid"),
    (lambda: _claims(org_id=None), "org_id"),
    (lambda: _claims(sub=""), "sub"),
], ids=["expired", "no-exp", "not-yet-valid", "no-org", "empty-sub"])
def test_bad_claims_refused(tmp_path, make_claims, match):
    claims = {k: v for k, v in make_claims().items() if v is not None}
    with pytest.raises(AuthError, match=match):
        TokenVerifier(_config(tmp_path)).verify(_encode(claims))


def test_forged_signature_refused(tmp_path):
    with pytest.raises(AuthError, match="signature"):
        TokenVerifier(_config(tmp_path)).verify(_encode(_claims(), key="z" * 48))


def test_remembered_token_still_expires_and_forgeries_are_not_remembered(tmp_path):
    now = [time.time()]
    verifier = TokenVerifier(_config(tmp_path), clock=lambda: now[0])
    claims = _claims()
    token = _encode(claims)
    assert verifier.verify(token)["sub"] == "u1"
    forged = token.rsplit(".", 1)[0] + "." + _encode(claims, key="z" * 48).rsplit(".", 1)[1]
    with pytest.raises(AuthError, match="signature"):
        verifier.verify(forged)  # same header and claims as a remembered token, other signature
    now[0] = claims["exp"] + 31  # past exp and the 30 s leeway, within the remembering period
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token)


def _unsigned(header, claims):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return f"{enc(header)}.{enc(claims)}."


def test_alg_none_refused(tmp_path):
    with pytest.raises(AuthError, match="algorithm"):
        TokenVerifier(_config(tmp_path)).verify(_unsigned({"alg": "none"}, _claims()))


def test_rs256_refused_when_hmac_configured(tmp_path):
    key = RSAKey.generate_key(2048)
    token = jwt.encode({"alg": "RS256"}, _claims(), key)
    with pytest.raises(AuthError, match="algorithm"):
        TokenVerifier(_config(tmp_path)).verify(token)


def test_embedded_jwk_refused_with_public_keys(tmp_path):
    key = RSAKey.generate_key(2048)
    config = load_config({"JWT_PUBLIC_KEY": key.as_pem(private=False).decode()}, tmp_path)
    verifier = TokenVerifier(config)
    good = jwt.encode({"alg": "RS256"}, _claims(), key)
    assert verifier.verify(good)["sub"] == "u1"
    attacker = RSAKey.generate_key(2048)
    forged = jwt.encode({"alg": "RS256", "jwk": attacker.as_dict(private=False)}, _claims(), attacker)
    with pytest.raises(AuthError, match="own key"):
        verifier.verify(forged)
    with pytest.raises(AuthError, match="algorithm"):
        verifier.verify(_unsigned({"alg": "HS256"}, _claims()))


def test_issuer_and_audience_checked_when_configured(tmp_path):
    config = _config(tmp_path, JWT_ISSUER="https://id.example", JWT_AUDIENCE="connectors")
    verifier = TokenVerifier(config)
    assert verifier.verify(mint_token(config, "u", "o"))["sub"] == "u"
    with pytest.raises(AuthError, match="iss"):
        verifier.verify(_encode(_claims(iss="https://evil.example", aud="connectors")))
    with pytest.raises(AuthError, match="aud"):
        verifier.verify(_encode(_claims(iss="https://id.example", aud="other")))


def test_custom_org_claim(tmp_path):
    config = _config(tmp_path, JWT_ORG_CLAIM="tenant")
    assert TokenVerifier(config).verify(_encode(_claims(tenant="t9")))["tenant"] == "t9"


def test_api_requires_session_and_answers_json(platform):
    anonymous = platform.browser()
    for path in ("/api/v1/connectors", "/api/v1/connectors/google_calendar", "/api/v1/tools",
                 "/api/integrations/google/status"):
        response = anonymous.get(platform.api(path))
        assert response.status_code == 401, path
        assert response.json()["code"] == 401 and response.json()["message"]
    expired = anonymous.get(platform.api("/api/v1/connectors"),
                            headers={"Authorization": f"Bearer {platform.token('u', 'o', ttl=-120)}"})
    assert expired.status_code == 401
    cookie = platform.browser()
    cookie.cookies.set("session", platform.token("u", "o"))
    assert cookie.get(platform.api("/api/v1/connectors")).status_code == 200


def test_users_created_on_first_sight_per_org(platform):
    from core.models import User

    for org in ("o1", "o2", "o1"):
        assert platform.browser("same-sub", org).get(platform.api("/api/v1/connectors")).status_code == 200
    with platform.ext("db").session_scope() as session:
        rows = session.query(User).filter_by(external_id="same-sub").all()
        assert sorted(u.org_id for u in rows) == ["o1", "o2"]


def test_jwks_url_keys_selected_by_kid(tmp_path):
    from tests.fakes.http import FakeServer, json_response, route

    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})

    class Issuer(FakeServer):
        @route("GET", r"/.well-known/jwks.json")
        def jwks(self, request):
            return json_response({"keys": [key.as_dict(private=False)]})

    with Issuer() as issuer:
        verifier = TokenVerifier(load_config({"JWT_JWKS_URL": issuer.url + "/.well-known/jwks.json"}, tmp_path))
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, _claims(), key)
        assert verifier.verify(token)["sub"] == "u1"
        assert verifier.verify(token)["sub"] == "u1"
        assert issuer.count("/.well-known/jwks.json") == 1
        other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        with pytest.raises(AuthError, match="signature"):
            verifier.verify(jwt.encode({"alg": "RS256", "kid": "k1"}, _claims(), other))


def test_auth_is_decided_on_the_view_never_by_the_path(start_platform, tmp_path):
    from tests.conftest import platform_env
    from tests.sample_plugins import weather

    platform = start_platform(platform_env(f"sqlite:///{tmp_path}/a.db"), plugins=[("weather", weather)])
    anonymous = platform.browser()
    for path in ("/api/v1/connectors/weather/callback", "/api/v1/connectors/weather/openapi.json",
                 "/api/v1/connectors/weather/ping", "/api/v1/nothing/here/callback"):
        assert anonymous.get(platform.api(path)).status_code == 401, path
    assert anonymous.get(platform.api("/api/v1/connectors/weather/hook")).json() == {"public": True}
    signed_in = platform.browser("u", "o")
    assert signed_in.get(platform.api("/api/v1/connectors/weather/callback")).json() == {"private": True}
    for path in ("/api/v1/openapi.json", "/healthz", "/readyz"):
        assert anonymous.get(platform.api(path)).status_code == 200, path
    for path in ("/api/v1/connectors/google_calendar/callback", "/api/integrations/google/callback"):
        back = anonymous.get(platform.api(path), allow_redirects=False)  # the provider's redirect: no session
        assert back.status_code == 302 and "status=error" in back.headers["Location"], path
