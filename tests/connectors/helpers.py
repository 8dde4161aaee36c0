"""Helpers shared by the connector tests: the OAuth dance as a browser, actions over HTTP."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from core.models import User
from tests.conftest import FRONTEND, platform_env

#: The user the connector tests act as, and their organization.
USER, ORG = "u1", "o1"


def signed_in(start_platform, database_url: str, **env):
    """The platform on ``database_url`` with ``env``, and a browser signed in as :data:`USER` that
    reads English (the tests compare the connectors' messages as written)."""
    platform = start_platform(platform_env(database_url, **env))
    browser = platform.browser(USER, ORG)
    browser.headers["Accept-Language"] = "en"
    return platform, browser


def oauth_dance(platform, browser, key: str) -> dict:
    """Start OAuth for ``key``, follow the provider's consent redirect, land on the callback.

    Returns the query parameters the front end receives (``status``, ``error``).
    """
    started = browser.get(platform.api(f"/api/v1/connectors/{key}/redirect"), allow_redirects=False)
    assert started.status_code == 302, started.text
    consent = browser.get(started.headers["Location"], allow_redirects=False)
    assert consent.status_code == 302, consent.text
    back = browser.get(consent.headers["Location"], allow_redirects=False)
    assert back.status_code == 302, back.text
    location = urlparse(back.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{FRONTEND}/connectors/callback/{key}"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def run(platform, browser, key: str, action: str, **arguments):
    """``POST /api/v1/connectors/<key>/actions/<action>`` with ``arguments``; the response."""
    return browser.post(platform.api(f"/api/v1/connectors/{key}/actions/{action}"), json=arguments)


def status(platform, browser, key: str) -> dict:
    """This user's status of connector ``key``."""
    return browser.get(platform.api(f"/api/v1/connectors/{key}")).json()


def revoke(platform, browser, key: str) -> dict:
    """Disconnect ``key``; the revoke route's answer."""
    response = browser.post(platform.api(f"/api/v1/connectors/{key}/revoke"))
    assert response.status_code == 200, response.text
    return response.json()


def user_id(platform, sub: str, org: str) -> int:
    """The database id of the user ``sub`` of ``org``."""
    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id=sub, org_id=org).one().id


def stored_token(platform, sub: str, org: str, key: str) -> dict | None:
    """The decrypted stored token of ``key`` for ``sub``."""
    with platform.ext("db").session_scope() as session:
        return platform.ext("credentials").load_token(session, user_id(platform, sub, org), key)


def configure(platform, browser, key: str, values: dict):
    """``POST /api/v1/connectors/<key>/config`` with ``values``; the response."""
    return browser.post(platform.api(f"/api/v1/connectors/{key}/config"), json=values)


def stored_config(platform, sub: str, org: str, key: str) -> dict:
    """The decrypted stored config of ``key`` for ``sub`` (empty when nothing is stored)."""
    with platform.ext("db").session_scope() as session:
        return platform.ext("credentials").load_config(session, user_id(platform, sub, org), key)


def refused_config(platform, browser, key: str, values: dict, sub: str, org: str, secret: str) -> dict:
    """Configure ``key`` with ``values`` that must be refused: a 422 that never echoes ``secret``,
    nothing stored, not connected. Returns the error body."""
    response = configure(platform, browser, key, values)
    assert response.status_code == 422, response.text
    assert secret not in response.text
    assert stored_config(platform, sub, org, key) == {}
    assert status(platform, browser, key)["connected"] is False
    return response.json()


def accepted_config(platform, browser, key: str, values: dict, secret_field: str) -> dict:
    """Configure ``key`` with good ``values``: connected, the secret masked and never returned.
    Returns the connector's status."""
    response = configure(platform, browser, key, values)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active" and body["connected"] is True
    assert body["config"][secret_field] == "••••••••"
    for answer in (response.text, browser.get(platform.api(f"/api/v1/connectors/{key}")).text):
        assert values[secret_field] not in answer
    return body


def revoked(platform, browser, key: str, sub: str, org: str) -> None:
    """Revoke ``key``: inactive, the stored config purged, actions refused as not connected."""
    answer = revoke(platform, browser, key)
    assert answer["connector"]["status"] == "inactive" and answer["connector"].get("config") is None
    assert stored_config(platform, sub, org, key) == {}
