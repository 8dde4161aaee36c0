"""The author's tests, written with the kit's fixtures only."""
import pytest

from core.testing import ActionFailed, ConnectFailed


@pytest.fixture
def tasks(oauth_provider):
    @oauth_provider.route("GET", "/tasks")
    def listing(request):
        return 200, [{"title": "Write the plugin", "done": True}, {"title": "Ship it", "done": False}]


def test_oauth_connector_end_to_end(connect, run_action, oauth_provider, tasks):
    status = connect("acme_tasks")
    assert status["connected"] is True and status["account"] == "author@example.test"
    assert status["granted_scopes"] == ["tasks.read"]
    assert run_action("acme_tasks", "list_tasks", {"done": False}) == [{"title": "Ship it", "done": False}]
    oauth_provider.expire_tokens()  # the rejected token is refreshed once, then the call succeeds
    assert len(run_action("acme_tasks", "list_tasks")) == 2
    assert oauth_provider.count("/token") == 2


def test_refresh_tokens_may_rotate(connect, run_action, oauth_provider, tasks):
    oauth_provider.rotate_refresh_tokens = True
    connect("acme_tasks")
    for _ in range(2):
        oauth_provider.expire_tokens()
        assert len(run_action("acme_tasks", "list_tasks")) == 2
    assert oauth_provider.count("/token") == 3


def test_denied_consent_and_withheld_scope(connect, oauth_provider):
    oauth_provider.deny_next()
    with pytest.raises(ConnectFailed) as denied:
        connect("acme_tasks")
    assert denied.value.error == "access_denied"
    oauth_provider.withhold_scopes = {"tasks.read"}
    with pytest.raises(ConnectFailed) as narrowed:
        connect("acme_tasks")
    assert narrowed.value.error == "insufficient_scope"


def test_revoked_grant_asks_to_reconnect(connect, run_action, client, platform, oauth_provider, tasks):
    connect("acme_tasks")
    revoked = client.post(platform.api("/api/v1/connectors/acme_tasks/revoke"))
    assert revoked.status_code == 200 and oauth_provider.count("/revoke") == 1
    with pytest.raises(ActionFailed) as failed:
        run_action("acme_tasks", "list_tasks")
    assert (failed.value.status, failed.value.reason) == (409, "not_connected")


def test_config_connector(connect, run_action, platform):
    with pytest.raises(ConnectFailed) as refused:
        connect("acme_notes", {"api_key": "wrong"})
    assert refused.value.error == "invalid_credentials"
    assert connect("acme_notes", {"api_key": "k-42"})["account"] == "notes@acme.example"
    assert run_action("acme_notes", "count_words", {"text": "three little words"}) == {"words": 3, "key_ends_with": "42"}
    with pytest.raises(ActionFailed) as bad:
        run_action("acme_notes", "count_words", {})
    assert (bad.value.status, bad.value.reason, bad.value.body["errors"]["field"]) == (422, "invalid_input", "text")


def test_another_user_has_its_own_connections(platform, connect):
    connect("acme_notes", {"api_key": "k-42"})
    stranger = platform.browser("someone-else", "other-org")
    assert platform.status("acme_notes", stranger)["connected"] is False
    with pytest.raises(ActionFailed) as failed:
        platform.run_action("acme_notes", "count_words", {"text": "x"}, browser=stranger)
    assert failed.value.reason == "not_connected"
