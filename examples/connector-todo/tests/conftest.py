"""The fake service, and the platform pointed at it (``TODO_API_ROOT``)."""
import pytest
from fake_todo import FakeTodo


@pytest.fixture
def todo_service():
    service = FakeTodo().start()
    service.add_account("key-alice", "Alice", [{"id": 1, "title": "Buy stamps", "due": None, "done": True}])
    yield service
    service.stop()


@pytest.fixture
def platform_environ(todo_service):
    return {"TODO_API_ROOT": todo_service.url + "/api/"}
