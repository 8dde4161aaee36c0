"""The Hostinger connector through the HTTP API against a fake Hostinger API on loopback."""
from __future__ import annotations

import pytest

from tests.connectors.helpers import ORG, USER, accepted_config, refused_config, revoked, run, signed_in, status
from tests.fakes.hostinger import FakeHostinger

TOKEN = "hostinger-api-token-0042"


@pytest.fixture
def fake_hostinger():
    with FakeHostinger() as fake:
        fake.tokens.add(TOKEN)
        yield fake


def start(start_platform, database_url, fake):
    """The platform with Hostinger pointed at ``fake``; a browser signed in as USER."""
    return signed_in(start_platform, database_url, HOSTINGER_API_ROOT=fake.url)


@pytest.fixture
def connected(start_platform, tmp_path, fake_hostinger):
    """The platform on SQLite with USER's Hostinger connected."""
    p, user = start(start_platform, f"sqlite:///{tmp_path}/x.db", fake_hostinger)
    accepted_config(p, user, "hostinger", {"api_token": TOKEN}, "api_token")
    return p, user


def test_connect_list_domains_and_revoke(start_platform, database_url, fake_hostinger):
    p, user = start(start_platform, database_url, fake_hostinger)
    bad = refused_config(p, user, "hostinger", {"api_token": "wrong-token"}, USER, ORG, "wrong-token")
    assert bad["message"].startswith("Hostinger refused the API token")
    assert bad["errors"] == {"reason": "invalid_credentials", "cause": "auth", "field": "api_token"}

    connected = accepted_config(p, user, "hostinger", {"api_token": TOKEN}, "api_token")
    assert connected["account"] == "Hostinger account (2 domains)"
    answer = run(p, user, "hostinger", "list_domains")
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["domains"] == [
        {"domain": "cassius.example", "type": "domain", "status": "active",
         "created_at": "2024-02-01T10:00:00Z", "expires_at": "2027-02-01T10:00:00Z"},
        {"domain": "old-brand.example", "type": "domain", "status": "expired",
         "created_at": "2023-05-10T10:00:00Z", "expires_at": "2025-05-10T10:00:00Z"},
    ]
    assert {r.headers["authorization"] for r in fake_hostinger.requests} >= {f"Bearer {TOKEN}"}

    revoked(p, user, "hostinger", USER, ORG)
    assert run(p, user, "hostinger", "list_domains").status_code == 409


def test_revoked_token_needs_reauth(connected, fake_hostinger):
    p, user = connected
    fake_hostinger.tokens.clear()
    answer = run(p, user, "hostinger", "list_domains")
    assert answer.status_code == 409 and answer.json()["errors"]["reason"] == "needs_reauth"
    assert TOKEN not in answer.text
    assert status(p, user, "hostinger")["status"] == "needs_reauth"


@pytest.mark.parametrize("injected, http_status, reason", [(429, 429, "rate_limited"), (500, 502, "provider_error")])
def test_provider_failures_map_to_stable_codes(connected, fake_hostinger, injected, http_status, reason):
    p, user = connected
    fake_hostinger.inject(injected, headers={"Retry-After": "30"} if injected == 429 else None)
    answer = run(p, user, "hostinger", "list_domains")
    assert answer.status_code == http_status and answer.json()["errors"]["reason"] == reason
    assert "correlation_id" not in answer.text
