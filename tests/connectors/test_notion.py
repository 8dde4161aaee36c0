"""Notion end to end against FakeNotion: Basic+JSON token endpoint, no expiry, search, pages, revoke."""
import pytest

from tests.conftest import platform_env
from tests.connectors.helpers import oauth_dance, revoke, run, status
from tests.fakes.notion import FakeNotion


@pytest.fixture
def fake_notion():
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def notion_platform(start_platform, tmp_path, fake_notion):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/x.db", **fake_notion.env()))


def test_connect_search_and_create_page(start_platform, database_url, fake_notion):
    platform = start_platform(platform_env(database_url, **fake_notion.env()))
    alice = platform.browser("alice", "org-a")
    assert oauth_dance(platform, alice, "notion") == {"status": "success"}
    info = status(platform, alice, "notion")
    assert info["status"] == "active" and info["account"] == "Acme HQ" and info["expires_at"] is None
    [exchange] = [r for r in fake_notion.requests if r.path == "/v1/oauth/token"]
    assert exchange.headers["authorization"].startswith("Basic ")
    assert exchange.json()["grant_type"] == "authorization_code" and "client_secret" not in exchange.json()

    found = run(platform, alice, "notion", "search", query="apollo").json()["result"]["results"]
    assert [(r["type"], r["title"]) for r in found] == [("page", "Apollo budget"), ("page", "Project Apollo")]
    parent = found[1]["id"]
    made = run(platform, alice, "notion", "create_page", title="Kickoff", content="Goals\n\nRisks",
               parent_page_id=parent).json()["result"]
    assert made["title"] == "Kickoff" and made["url"]
    top = run(platform, alice, "notion", "create_page", title="Inbox").json()["result"]
    assert [(c["title"], c["paragraphs"]) for c in fake_notion.created] == [("Kickoff", ["Goals", "Risks"]),
                                                                            ("Inbox", [])]
    assert fake_notion.created[0]["parent"] == {"type": "page_id", "page_id": parent}
    assert fake_notion.created[1]["parent"] == {"type": "workspace", "workspace": True} and top["id"]
    tool = alice.post(platform.api("/api/v1/tools/create_project/invoke"),
                      json={"title": "Project Hermes", "content": None, "parent_page_id": None})
    assert tool.json()["ok"] is True, tool.text
    assert fake_notion.created[-1]["title"] == "Project Hermes"


def test_denied_consent_and_bad_exchange(start_platform, tmp_path, fake_notion, notion_platform):
    alice = notion_platform.browser("alice", "org-a")
    fake_notion.deny_next()
    assert oauth_dance(notion_platform, alice, "notion") == {"status": "error", "error": "access_denied"}
    wrong = start_platform(platform_env(f"sqlite:///{tmp_path}/y.db",
                                        **{**fake_notion.env(), "NOTION_CLIENT_SECRET": "wrong"}))
    bob = wrong.browser("bob", "org-b")
    assert oauth_dance(wrong, bob, "notion") == {"status": "error", "error": "exchange_failed"}
    assert status(wrong, bob, "notion")["connected"] is False


def test_action_failures_map_to_stable_codes(notion_platform, fake_notion):
    alice = notion_platform.browser("alice", "org-a")
    oauth_dance(notion_platform, alice, "notion")
    missing = run(notion_platform, alice, "notion", "create_page", title="X", parent_page_id="not-shared")
    assert missing.status_code == 404 and missing.json()["errors"]["reason"] == "not_found"
    empty = run(notion_platform, alice, "notion", "create_page", title="  ")
    assert empty.json()["errors"] == {"reason": "invalid_input", "field": "title"}
    fake_notion.inject(429, path_contains="/v1/search", headers={"Retry-After": "7"})
    limited = run(notion_platform, alice, "notion", "search", query="x")
    assert limited.status_code == 429 and limited.json()["errors"] == {"reason": "rate_limited", "retry_after": 7}


def test_refused_token_without_expiry_is_refreshed_once(notion_platform, fake_notion):
    alice = notion_platform.browser("alice", "org-a")
    oauth_dance(notion_platform, alice, "notion")
    fake_notion.invalidate_access_tokens()
    assert run(notion_platform, alice, "notion", "search", query="").status_code == 200
    assert fake_notion.refresh_count == 1
    [refresh] = [r for r in fake_notion.requests if r.path == "/v1/oauth/token"][1:]
    assert refresh.json()["grant_type"] == "refresh_token"


def test_refused_token_without_refresh_token_needs_reauth(notion_platform, fake_notion):
    fake_notion.issue_refresh_tokens = False
    alice = notion_platform.browser("alice", "org-a")
    oauth_dance(notion_platform, alice, "notion")
    fake_notion.invalidate_access_tokens()
    refused = run(notion_platform, alice, "notion", "search", query="")
    assert refused.status_code == 409 and refused.json()["errors"]["reason"] == "needs_reauth"
    assert status(notion_platform, alice, "notion")["status"] == "needs_reauth"
    assert fake_notion.refresh_count == 0


def test_revoke_at_notion(notion_platform, fake_notion):
    alice = notion_platform.browser("alice", "org-a")
    oauth_dance(notion_platform, alice, "notion")
    answer = revoke(notion_platform, alice, "notion")
    assert answer["revoked_at_provider"] is True and answer["connector"]["connected"] is False
    [call] = [r for r in fake_notion.requests if r.path == "/v1/oauth/revoke"]
    assert call.headers["authorization"].startswith("Basic ") and set(call.json()) == {"token"}
    assert fake_notion.revoked == [call.json()["token"]]
