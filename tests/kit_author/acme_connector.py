"""A third-party plugin as an author writes it from docs/plugins.md: one OAuth connector (Acme
Tasks, any standard OAuth 2.0 server) and one config connector (Acme Notes, an API key)."""
from core import (Action, ActionParam, ConfigField, ConnectorSpec, ConnectorValidationError, OAuthSpec,
                  call_with_token, hookimpl, request_json)


def fetch_account(token, api_root):
    """The connected account: the provider's userinfo, read with the fresh token."""
    return request_json("GET", f"{api_root}userinfo", token["access_token"], provider="Acme")["email"]


def list_tasks(ctx, done=None):
    """The user's tasks (refreshing the token once if the provider rejects it)."""
    tasks = call_with_token(ctx, lambda token: request_json("GET", f"{ctx.api_root}tasks", token, provider="Acme"))
    return [t for t in tasks if done is None or t["done"] is done]


TASKS = ConnectorSpec(
    key="acme_tasks", name="Acme Tasks", kind="oauth2", provider="acme",
    description="Your Acme tasks, for the agent.",
    oauth=OAuthSpec(env_prefix="ACME", authorize_url="https://auth.acme.example/authorize",
                    token_url="https://auth.acme.example/token", revoke_url="https://auth.acme.example/revoke",
                    api_root="https://api.acme.example", scopes=("tasks.read",)),
    fetch_account=fetch_account,
    actions=(Action("list_tasks", "List my tasks.", list_tasks,
                    (ActionParam("done", "boolean", "Only done (true) or open (false) tasks", required=False),)),),
)


def validate(values):
    """Try the key for real (here: any key but 'wrong')."""
    if values["api_key"] == "wrong":
        raise ConnectorValidationError("Acme refused this API key.", field="api_key")
    return "notes@acme.example"


def count_words(ctx, text):
    """How many words ``text`` has, with the stored key's account."""
    return {"words": len(text.split()), "key_ends_with": ctx.config["api_key"][-2:]}


NOTES = ConnectorSpec(
    key="acme_notes", name="Acme Notes", kind="config", provider="acme_notes",
    fields=(ConfigField("api_key", "API key", secret=True),), validate=validate,
    actions=(Action("count_words", "Count the words of a text.", count_words,
                    (ActionParam("text", "string", "The text"),)),),
)


@hookimpl
def register_connectors():
    return [TASKS, NOTES]
