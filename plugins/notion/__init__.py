"""Notion connector: search the pages a user shared with the integration and create pages.

A Notion *public integration*: the user picks the pages to share on Notion's consent screen;
what the integration may do (read and insert content) is set in its capabilities, not by
OAuth scopes. The token endpoint takes HTTP Basic client authentication and a JSON body.
"""
from pathlib import Path

from core import Action, ActionParam, ConnectorSpec, OAuthSpec, hookimpl
from plugins.notion import client, pages

OAUTH = OAuthSpec(
    env_prefix="NOTION",
    authorize_url="https://api.notion.com/v1/oauth/authorize",
    token_url="https://api.notion.com/v1/oauth/token",
    revoke_url="https://api.notion.com/v1/oauth/revoke",
    api_root=client.DEFAULT_API_ROOT,
    scopes=("read_content", "insert_content"),
    request_scopes=False,
    extra_authorize_params={"owner": "user"},
    pkce=False,
    token_endpoint_auth_method="client_secret_basic",
    token_request_format="json",
)

CONNECTOR = ConnectorSpec(
    key="notion",
    name="Notion",
    kind="oauth2",
    provider="notion",
    icon=Path(__file__).parent / "icon.svg",
    description="Find pages in your Notion workspace and create new ones, e.g. a project brief.",
    oauth=OAUTH,
    fetch_account=pages.workspace_name,
    actions=(
        Action(
            name="search",
            description="Search the Notion pages and databases shared with the app by title.",
            run=pages.search,
            params=(
                ActionParam("query", "string", "Words to look for in titles; empty lists recent pages."),
                ActionParam("limit", "integer", f"At most how many results, 1 to {pages.MAX_RESULTS}.",
                            required=False),
            ),
        ),
        Action(
            name="create_page",
            description="Create a Notion page with a title and optional text, e.g. for a new project.",
            run=pages.create_page,
            params=(
                ActionParam("title", "string", "The page title."),
                ActionParam("content", "string", "The page text; blank lines separate paragraphs.", required=False),
                ActionParam("parent_page_id", "string",
                            "Id of a shared page to create it under; omitted: top level of the workspace.",
                            required=False),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Declare the notion connector."""
    return [CONNECTOR]
