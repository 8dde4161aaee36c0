"""To-do list connector: an API key, a validation that tries it, two agent actions."""
from core import Action, ActionParam, ConfigField, ConnectorSpec, hookimpl

from connector_todo import client


def validate(values):
    """Try the key against the service; the account's name, or a 422 saying the key was refused."""
    return client.account(client.root(), values["api_key"])


def list_todos(ctx, done=None):
    """The user's to-dos, all or only done (true) / open (false) ones."""
    todos = client.todos(ctx.env("API_ROOT", client.DEFAULT_ROOT), ctx.config["api_key"])
    return {"todos": [t for t in todos if done is None or t["done"] is done]}


def add_todo(ctx, title, due=None):
    """Add a to-do; ``due`` is a day (YYYY-MM-DD)."""
    return client.add(ctx.env("API_ROOT", client.DEFAULT_ROOT), ctx.config["api_key"], title, due)


CONNECTOR = ConnectorSpec(
    key="todo",
    name="To-do list",
    kind="config",
    provider="todo",
    description="Your to-do list, for your agent.",
    fields=(ConfigField("api_key", "API key", secret=True, help="In your to-do list's settings, under API."),),
    validate=validate,
    actions=(
        Action("list_todos", "List my to-dos.", list_todos,
               (ActionParam("done", "boolean", "Only done (true) or open (false) ones", required=False),)),
        Action("add_todo", "Add a to-do.", add_todo,
               (ActionParam("title", "string", "What to do"),
                ActionParam("due", "string", "The day it is due, YYYY-MM-DD", required=False))),
    ),
)


@hookimpl
def register_connectors():
    """Declare the todo connector."""
    return [CONNECTOR]
