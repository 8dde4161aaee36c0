"""Calendly end to end against FakeCalendly, including single-use refresh tokens across processes."""
import multiprocessing

import pytest

from tests.conftest import platform_env
from tests.connectors.helpers import (
    oauth_dance,
    revoke,
    run,
    status,
    stored_token,
    user_id,
)
from tests.connectors.refresh_worker import fresh_token
from tests.fakes.calendly import FakeCalendly


@pytest.fixture
def fake_calendly():
    with FakeCalendly() as fake:
        yield fake


@pytest.fixture
def calendly_platform(start_platform, tmp_path, fake_calendly):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/x.db", **fake_calendly.env()))


def test_connect_and_list_upcoming_events(calendly_platform, fake_calendly):
    alice = calendly_platform.browser("alice", "org-a")
    assert oauth_dance(calendly_platform, alice, "calendly") == {"status": "success"}
    info = status(calendly_platform, alice, "calendly")
    assert info["status"] == "active" and info["account"] == "alice@example.com"
    assert set(info["granted_scopes"]) == {"users:read", "scheduled_events:read"}
    events = run(calendly_platform, alice, "calendly", "list_scheduled_events").json()["result"]["events"]
    assert [(e["name"], e["location"]) for e in events] == [("Demo", "HQ"), ("Intro call", "https://zoom.us/j/1")]
    canceled = run(calendly_platform, alice, "calendly", "list_scheduled_events", status="canceled", count=5).json()
    assert [e["name"] for e in canceled["result"]["events"]] == ["Dropped"]


def test_denied_consent_and_bad_exchange(start_platform, tmp_path, fake_calendly, calendly_platform):
    alice = calendly_platform.browser("alice", "org-a")
    fake_calendly.deny_next()
    assert oauth_dance(calendly_platform, alice, "calendly") == {"status": "error", "error": "access_denied"}
    wrong = start_platform(platform_env(f"sqlite:///{tmp_path}/y.db",
                                        **{**fake_calendly.env(), "CALENDLY_CLIENT_SECRET": "wrong"}))
    bob = wrong.browser("bob", "org-b")
    assert oauth_dance(wrong, bob, "calendly") == {"status": "error", "error": "exchange_failed"}


def test_failures_map_to_stable_codes(calendly_platform, fake_calendly):
    alice = calendly_platform.browser("alice", "org-a")
    oauth_dance(calendly_platform, alice, "calendly")
    bad = run(calendly_platform, alice, "calendly", "list_scheduled_events", status="maybe")
    assert bad.status_code == 422 and bad.json()["errors"] == {"reason": "invalid_input", "field": "status"}
    fake_calendly.inject(429, path_contains="/scheduled_events", headers={"Retry-After": "12"})
    limited = run(calendly_platform, alice, "calendly", "list_scheduled_events")
    assert limited.json()["errors"] == {"reason": "rate_limited", "retry_after": 12}
    fake_calendly.inject(401, path_contains="/users/me")
    assert run(calendly_platform, alice, "calendly", "list_scheduled_events").status_code == 200
    assert fake_calendly.refresh_count == 1
    fake_calendly.inject(401, times=2, path_contains="/users/me")
    refused = run(calendly_platform, alice, "calendly", "list_scheduled_events")
    assert refused.status_code == 409 and refused.json()["errors"]["reason"] == "needs_reauth"
    assert status(calendly_platform, alice, "calendly")["status"] == "needs_reauth"


def test_two_processes_refresh_once_and_the_connection_survives(start_platform, tmp_path, database_url, fake_calendly):
    platform = start_platform(platform_env(database_url, **fake_calendly.env()))
    alice = platform.browser("alice", "org-a")
    fake_calendly.access_token_ttl = 60  # inside core's 5-minute margin: the stored token is due
    oauth_dance(platform, alice, "calendly")
    before = stored_token(platform, "alice", "org-a", "calendly")
    fake_calendly.access_token_ttl = 7200
    fake_calendly.refresh_latency = 0.3  # a refresh takes a while: a second unlocked one would overlap

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=fresh_token, args=(
        dict(platform.config.environ), str(tmp_path / "instance"), user_id(platform, "alice", "org-a"), "calendly",
        barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0][1] == outcomes[1][1] != before["access_token"]
    assert fake_calendly.refresh_count == 1 and fake_calendly.is_valid(outcomes[0][1])
    after = stored_token(platform, "alice", "org-a", "calendly")
    assert after["access_token"] == outcomes[0][1]
    assert fake_calendly.live_refresh_tokens() == [after["refresh_token"]] != [before["refresh_token"]]
    assert status(platform, alice, "calendly")["status"] == "active"


def test_revoke_at_calendly(calendly_platform, fake_calendly):
    alice = calendly_platform.browser("alice", "org-a")
    oauth_dance(calendly_platform, alice, "calendly")
    answer = revoke(calendly_platform, alice, "calendly")
    assert answer["revoked_at_provider"] is True and answer["connector"]["connected"] is False
    [call] = [r for r in fake_calendly.requests if r.path == "/oauth/revoke"]
    assert call.form()["client_id"] == fake_calendly.client_id and call.form()["client_secret"]
    assert fake_calendly.live_refresh_tokens() == []
