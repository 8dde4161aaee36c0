"""The to-do service's HTTP API: Bearer API key, JSON in and out."""
from core import ConnectorError, api_root, request_json, trying_credentials

PROVIDER = "To-do list"
DEFAULT_ROOT = "https://todo.example.com/api/"


def root() -> str:
    """The API root after ``TODO_API_ROOT`` (for ``validate``, which has no action context)."""
    return api_root("TODO", DEFAULT_ROOT)


def account(api: str, key: str) -> str:
    """The key's account name; a refused key is a 422 on the ``api_key`` field."""
    with trying_credentials("The to-do list refused this API key.", field="api_key"):
        return request_json("GET", api + "me", key, provider=PROVIDER)["name"]


def todos(api: str, key: str) -> list[dict]:
    """Every to-do of the key's account."""
    return request_json("GET", api + "todos", key, provider=PROVIDER)


def add(api: str, key: str, title: str, due: str | None) -> dict:
    """Create a to-do; the service's answer."""
    if not title.strip():
        raise ConnectorError("A to-do needs a title.", code="invalid_input", field="title")
    return request_json("POST", api + "todos", key, provider=PROVIDER, json={"title": title, "due": due})
