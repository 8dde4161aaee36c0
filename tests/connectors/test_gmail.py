"""Gmail end to end: Google's OAuth dance, metadata-only listing, sending, failures, revoke."""
import pytest

from plugins import google
from tests.conftest import connect_google, platform_env
from tests.connectors.helpers import revoke, run, status
from tests.fakes.gmail import METADATA_SCOPE, SEND_SCOPE, FakeGmail

ALICE = "alice@example.com"


@pytest.fixture
def fake_gmail():
    """FakeGoogle with Gmail mailboxes, one account holding three messages."""
    fake = FakeGmail(client_id="test-client", client_secret="test-secret")
    fake.add_account(ALICE)
    fake.add_message(ALICE, "Bob <bob@example.org>", "Lunch?", labels=("INBOX",))
    fake.add_message(ALICE, "Carol <carol@example.org>", "Invoice 42")
    fake.add_message(ALICE, "Dan <dan@example.org>", "Draft", labels=("DRAFT",))
    with fake:
        yield fake


@pytest.fixture
def gmail_platform(start_platform, tmp_path, fake_gmail):
    return start_platform(platform_env(f"sqlite:///{tmp_path}/x.db", fake_gmail))


def test_gmail_urls_keep_the_discovery_service_path():
    request = google.service("gmail", "v1", "http://127.0.0.1:9/").users().getProfile(userId="me")
    assert request.uri.startswith("http://127.0.0.1:9/gmail/v1/users/me/profile")


def test_connect_list_and_send(start_platform, database_url, fake_gmail):
    platform = start_platform(platform_env(database_url, fake_gmail))
    alice = platform.browser("alice", "org-a")
    assert connect_google(platform, alice, fake_gmail, ALICE, key="gmail") == {"status": "success"}
    info = status(platform, alice, "gmail")
    assert info["status"] == "active" and info["account"] == ALICE
    assert set(info["granted_scopes"]) == {METADATA_SCOPE, SEND_SCOPE}
    assert fake_gmail.authorize_params[-1]["scope"].split() == [METADATA_SCOPE, SEND_SCOPE]

    listed = run(platform, alice, "gmail", "list_recent_messages").json()["result"]["messages"]
    assert [(m["from"], m["subject"], m["unread"]) for m in listed] == [
        ("Carol <carol@example.org>", "Invoice 42", True), ("Bob <bob@example.org>", "Lunch?", False)]
    unread = run(platform, alice, "gmail", "list_recent_messages", unread_only=True, max_results=5).json()
    assert [m["subject"] for m in unread["result"]["messages"]] == ["Invoice 42"]

    sent = run(platform, alice, "gmail", "send_email", to="bob@example.org", subject="Hi", body="See you at noon.")
    assert sent.status_code == 200 and sent.json()["result"]["sent"] is True
    [message] = fake_gmail.sent(ALICE)
    assert (message["To"], message["Subject"], message["From"]) == ("bob@example.org", "Hi", ALICE)
    assert message.get_content().strip() == "See you at noon."


def test_denied_consent_and_bad_exchange(start_platform, tmp_path, fake_gmail, gmail_platform):
    alice = gmail_platform.browser("alice", "org-a")
    fake_gmail.deny_next()
    assert connect_google(gmail_platform, alice, fake_gmail, ALICE, key="gmail") == {
        "status": "error", "error": "access_denied"}
    wrong = start_platform(platform_env(f"sqlite:///{tmp_path}/y.db", fake_gmail, GOOGLE_CLIENT_SECRET="wrong"))
    bob = wrong.browser("bob", "org-b")
    assert connect_google(wrong, bob, fake_gmail, ALICE, key="gmail") == {"status": "error", "error": "exchange_failed"}
    assert status(wrong, bob, "gmail")["connected"] is False


def test_action_failures_are_stable_codes(gmail_platform, fake_gmail):
    alice = gmail_platform.browser("alice", "org-a")
    connect_google(gmail_platform, alice, fake_gmail, ALICE, key="gmail")
    bad = run(gmail_platform, alice, "gmail", "send_email", to="not an address", subject="x", body="y")
    assert bad.status_code == 422 and bad.json()["errors"] == {"reason": "invalid_input", "field": "to"}
    two_lines = run(gmail_platform, alice, "gmail", "send_email", to="bob@example.org", subject="a\nb", body="y")
    assert two_lines.json()["errors"] == {"reason": "invalid_input", "field": "subject"}
    too_many = run(gmail_platform, alice, "gmail", "list_recent_messages", max_results=500)
    assert too_many.json()["errors"]["field"] == "max_results"
    assert fake_gmail.count("/messages/send") == 0

    fake_gmail.inject(429, path_contains="/gmail/v1/users/me/messages")
    assert run(gmail_platform, alice, "gmail", "list_recent_messages").json()["errors"]["reason"] == "rate_limited"
    fake_gmail.revoke_grant(ALICE)
    refused = run(gmail_platform, alice, "gmail", "list_recent_messages")
    assert refused.status_code == 409 and refused.json()["errors"]["reason"] == "needs_reauth"
    assert status(gmail_platform, alice, "gmail")["status"] == "needs_reauth"


def test_revoke_at_google_unless_calendar_shares_the_account(gmail_platform, fake_gmail):
    alice = gmail_platform.browser("alice", "org-a")
    connect_google(gmail_platform, alice, fake_gmail, ALICE, key="gmail")
    connect_google(gmail_platform, alice, fake_gmail, ALICE)
    assert revoke(gmail_platform, alice, "gmail")["revoked_at_provider"] is False
    assert fake_gmail.count("/revoke") == 0
    connect_google(gmail_platform, alice, fake_gmail, ALICE, key="gmail")
    revoke(gmail_platform, alice, "google_calendar")
    answer = revoke(gmail_platform, alice, "gmail")
    assert answer["revoked_at_provider"] is True and answer["connector"]["connected"] is False
    assert fake_gmail.count("/revoke") == 1
    assert run(gmail_platform, alice, "gmail", "list_recent_messages").json()["errors"]["reason"] == "not_connected"


def test_a_token_refused_after_refresh_asks_to_reconnect(gmail_platform, fake_gmail):
    """Gmail answers 401 to the token, and again to the refreshed one: the connection needs a new consent."""
    alice = gmail_platform.browser("alice", "org-a")
    connect_google(gmail_platform, alice, fake_gmail, ALICE, key="gmail")
    refreshes = fake_gmail.count("/token")
    fake_gmail.inject(401, times=2, path_contains="/gmail/v1/users/me/messages")
    refused = run(gmail_platform, alice, "gmail", "list_recent_messages")
    assert refused.status_code == 409 and refused.json()["errors"]["reason"] == "needs_reauth"
    assert fake_gmail.count("/token") == refreshes + 1
    assert status(gmail_platform, alice, "gmail")["status"] == "needs_reauth"
