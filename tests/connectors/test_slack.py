"""Slack end to end against FakeSlack: OAuth v2, rotation, channel listing, posting, revoke."""
import pytest

from tests.conftest import platform_env
from tests.connectors.helpers import oauth_dance, revoke, run, status
from tests.fakes.slack import FakeSlack


@pytest.fixture
def fake_slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_platform(start_platform, tmp_path, fake_slack):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/x.db", **fake_slack.env()))


def test_connect_list_and_post(start_platform, database_url, fake_slack):
    platform = start_platform(platform_env(database_url, **fake_slack.env()))
    alice = platform.browser("alice", "org-a")
    assert oauth_dance(platform, alice, "slack") == {"status": "success"}
    info = status(platform, alice, "slack")
    assert info["status"] == "active" and info["account"] == "Acme"
    assert info["granted_scopes"] == ["channels:read", "chat:write"]
    sent = fake_slack.authorize_params[-1]
    assert sent["scope"] == "channels:read,chat:write" and sent["code_challenge_method"] == "S256"

    channels = run(platform, alice, "slack", "list_channels").json()["result"]["channels"]
    assert [(c["name"], c["is_member"]) for c in channels] == [("general", True), ("random", False)]
    posted = run(platform, alice, "slack", "post_message", channel="#general", text="Standup in 5").json()
    assert posted["result"]["channel"] == "C0GENERAL"
    assert fake_slack.posted == [{"channel": "C0GENERAL", "text": "Standup in 5", "ts": posted["result"]["ts"]}]


def test_denied_consent_and_bad_exchange(start_platform, tmp_path, fake_slack, slack_platform):
    alice = slack_platform.browser("alice", "org-a")
    fake_slack.deny_next()
    assert oauth_dance(slack_platform, alice, "slack") == {"status": "error", "error": "access_denied"}
    env = {**fake_slack.env(), "SLACK_CLIENT_SECRET": "wrong"}
    wrong = start_platform(platform_env(f"sqlite:///{tmp_path}/y.db", **env))
    bob = wrong.browser("bob", "org-b")
    assert oauth_dance(wrong, bob, "slack") == {"status": "error", "error": "exchange_failed"}
    assert status(wrong, bob, "slack")["connected"] is False


def test_post_failures_map_to_stable_codes(slack_platform, fake_slack):
    alice = slack_platform.browser("alice", "org-a")
    oauth_dance(slack_platform, alice, "slack")
    missing = run(slack_platform, alice, "slack", "post_message", channel="#nope", text="hi")
    assert missing.status_code == 404 and missing.json()["errors"] == {"reason": "not_found", "field": "channel"}
    outside = run(slack_platform, alice, "slack", "post_message", channel="C0RANDOM1", text="hi")
    assert outside.status_code == 422 and "invite" in outside.json()["message"]
    fake_slack.inject(429, path_contains="chat.postMessage", headers={"Retry-After": "30"})
    limited = run(slack_platform, alice, "slack", "post_message", channel="#general", text="hi")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert limited.json()["errors"] == {"reason": "rate_limited", "retry_after": 30}
    fake_slack.uninstall()
    refused = run(slack_platform, alice, "slack", "list_channels")
    assert refused.status_code == 409 and refused.json()["errors"]["reason"] == "needs_reauth"
    assert status(slack_platform, alice, "slack")["status"] == "needs_reauth"
    assert "xox" not in refused.text


def test_rotating_token_is_refreshed_once_then_revoked_app_needs_reauth(slack_platform, fake_slack):
    fake_slack.rotation = True
    alice = slack_platform.browser("alice", "org-a")
    oauth_dance(slack_platform, alice, "slack")
    assert status(slack_platform, alice, "slack")["expires_at"]
    fake_slack.expire_tokens()
    assert run(slack_platform, alice, "slack", "list_channels").status_code == 200
    assert fake_slack.refresh_count == 1
    fake_slack.uninstall()
    refused = run(slack_platform, alice, "slack", "list_channels")
    assert refused.json()["errors"]["reason"] == "needs_reauth"
    assert status(slack_platform, alice, "slack")["status"] == "needs_reauth"


@pytest.mark.parametrize("rotation", [False, True])
def test_revoke_calls_auth_revoke(slack_platform, fake_slack, rotation):
    fake_slack.rotation = rotation
    alice = slack_platform.browser("alice", "org-a")
    oauth_dance(slack_platform, alice, "slack")
    if rotation:
        fake_slack.expire_tokens()
    answer = revoke(slack_platform, alice, "slack")
    assert answer["revoked_at_provider"] is True and answer["connector"]["connected"] is False
    assert fake_slack.live_installs() == 0
    assert run(slack_platform, alice, "slack", "list_channels").json()["errors"]["reason"] == "not_connected"
