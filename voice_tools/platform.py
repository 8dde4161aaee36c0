"""Platform tools: what every user is offered whatever they have connected.

``list_connectors`` and ``activate_connector`` run here; the aliases (``list_events``…) name
an action of the connector that provides it, so they are offered even before that
connector is connected and answer ``not_connected`` with the way to connect it.
"""
from __future__ import annotations

from core.actions import find_action
from core.errors import ConnectorError
from core.connections import missing_variables, user_status
from core.spec import Action, ActionParam
from voice_tools import booking
from voice_tools.schemas import describe_action, make_tool

#: Platform alias → (connector, action) it runs.
ALIASES = {
    "list_events": ("google_calendar", "list_events"),
    "create_project": ("notion", "create_page"),
    "upload_file": ("minio", "upload_file"),
}


def authorization_url(spec, config) -> str | None:
    """Where the user's browser starts connecting ``spec``: the platform's own redirect route.

    It sets the browser-binding cookie and then redirects to the provider, so it must be
    opened in the browser that holds the session. None for config connectors and for OAuth
    connectors the operator has not configured.
    """
    if spec.kind != "oauth2" or missing_variables(spec, config):
        return None
    return f"{config.backend_url}/api/v1/connectors/{spec.key}/redirect"


def list_connectors(call) -> list[dict]:
    """Every installed connector with this user's status and the tools it gives."""
    links = call.links
    rows = []
    for spec in sorted(call.registry.connectors.values(), key=lambda s: s.name):
        link = links.get(spec.key)
        row = {"key": spec.key, "name": spec.name, "status": user_status(spec, link, call.config),
               "description": spec.description}
        if link is not None and link.account_label:
            row["account"] = link.account_label
        row["tools"] = [t.name for t in call.catalog.by_connector.get(spec.key, ())]
        rows.append(row)
    return rows


def activate_connector(call, key: str) -> dict:
    """How to connect ``key``: an authorization URL (OAuth) or the fields to fill (config)."""
    spec = call.registry.connector(key)
    if spec is None:
        raise ConnectorError(f"No connector {key!r} is installed.", code="invalid_input", field="key")
    link = call.links.get(key)
    answer = {"key": key, "name": spec.name, "kind": spec.kind, "status": user_status(spec, link, call.config)}
    if spec.kind == "config":
        answer["fields"] = [{"name": f.name, "label": f.label, "secret": f.secret, "required": f.required}
                            for f in spec.fields]
        answer["next_step"] = f"The user enters these in the dashboard's {spec.name} card; never ask for secrets aloud."
        return answer
    url = authorization_url(spec, call.config)
    if url is None:
        raise ConnectorError(f"{spec.name} is not set up on this server yet; an administrator must configure it.",
                             code="not_configured")
    answer["authorization_url"] = url
    answer["next_step"] = f"Offer to open the link in this browser; {spec.name} asks the user to approve access."
    return answer


def tools(registry) -> list:
    """The platform tools for this plugin set (aliases only when their connector is installed)."""
    keys = tuple(sorted(registry.connectors))
    made = [
        _platform_tool(Action("list_connectors", "List every connector (Google Calendar, Gmail, Slack…) with "
                              "whether this user has connected it and the tools it gives.", list_connectors)),
        _platform_tool(Action("activate_connector", "Start connecting a connector: returns the authorization link "
                              "to open, or the fields the user fills in the dashboard.", activate_connector,
                              (ActionParam("key", "string", "The connector's key, from list_connectors.",
                                           enum=keys),))),
    ]
    made.extend(_platform_tool(action) for action in booking.ACTIONS)
    for alias, (key, action_name) in ALIASES.items():
        spec = registry.connector(key)
        action = find_action(spec, action_name) if spec else None
        if action is not None:
            made.append(make_tool(alias, describe_action(spec, action), action, key))
    return made


def _platform_tool(action):
    return make_tool(action.name, action.description, action)
