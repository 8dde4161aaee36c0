"""The to-do connector through the whole platform, with the kit's fixtures."""
import pytest

from core.testing import ActionFailed, ConnectFailed


def test_a_refused_key_is_never_stored(connect, platform, client):
    with pytest.raises(ConnectFailed) as refused:
        connect("todo", {"api_key": "key-nobody"})
    assert refused.value.error == "invalid_credentials"
    assert refused.value.detail["errors"]["field"] == "api_key"
    assert platform.status("todo", client)["connected"] is False


def test_connect_list_and_add(connect, run_action, todo_service):
    status = connect("todo", {"api_key": "key-alice"})
    assert (status["connected"], status["account"], status["config"]) == (True, "Alice", {"api_key": "••••••••"})
    assert run_action("todo", "list_todos", {"done": False}) == {"todos": []}
    added = run_action("todo", "add_todo", {"title": "Call the plumber", "due": "2030-05-02"})
    assert added == {"id": 2, "title": "Call the plumber", "due": "2030-05-02", "done": False}
    assert [t["title"] for t in run_action("todo", "list_todos")["todos"]] == ["Buy stamps", "Call the plumber"]
    assert todo_service.accounts["key-alice"]["todos"][-1]["title"] == "Call the plumber"


def test_errors_have_stable_codes(connect, run_action, todo_service):
    connect("todo", {"api_key": "key-alice"})
    with pytest.raises(ActionFailed) as blank:
        run_action("todo", "add_todo", {"title": "  "})
    assert (blank.value.status, blank.value.reason, blank.value.body["errors"]["field"]) == (422, "invalid_input",
                                                                                              "title")
    del todo_service.accounts["key-alice"]  # the key was revoked at the service
    with pytest.raises(ActionFailed) as revoked:
        run_action("todo", "list_todos")
    assert (revoked.value.status, revoked.value.reason) == (409, "needs_reauth")


def test_each_user_has_their_own_list(platform, connect):
    connect("todo", {"api_key": "key-alice"})
    bob = platform.browser("bob", "kit-org")
    with pytest.raises(ActionFailed) as other:
        platform.run_action("todo", "list_todos", browser=bob)
    assert other.value.reason == "not_connected"
