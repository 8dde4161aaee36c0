"""Slack connector: a bot in the user's workspace that lists public channels and posts messages.

OAuth v2 (``oauth.v2.access``) with bot scopes ``channels:read`` and ``chat:write``; token
rotation is supported when it is turned on for the Slack app (refresh tokens are single use:
core refreshes under a cross-process lock and saves the new one before using it).
"""
from pathlib import Path

from core import Action, ActionParam, ConnectorSpec, OAuthSpec, hookimpl
from plugins.slack import actions, client, oauth

OAUTH = OAuthSpec(
    env_prefix="SLACK",
    authorize_url="https://slack.com/oauth/v2/authorize",
    token_url="https://slack.com/api/oauth.v2.access",
    revoke_url="https://slack.com/api/auth.revoke",
    api_root=client.DEFAULT_API_ROOT,
    scopes=("channels:read", "chat:write"),
    scope_separator=",",
    token_response=oauth.token_response,
    revoke=oauth.revoke,
)

CONNECTOR = ConnectorSpec(
    key="slack",
    name="Slack",
    kind="oauth2",
    provider="slack",
    icon=Path(__file__).parent / "icon.svg",
    description="Post messages to your Slack workspace's channels and list them.",
    oauth=OAUTH,
    fetch_account=actions.workspace_name,
    actions=(
        Action(
            name="list_channels",
            description="List the public channels of the connected Slack workspace.",
            run=actions.list_channels,
            params=(ActionParam("limit", "integer", f"At most how many channels, 1 to {actions.MAX_CHANNELS}.",
                                required=False),),
        ),
        Action(
            name="post_message",
            description="Post a message in a Slack channel as the app's bot.",
            run=actions.post_message,
            params=(
                ActionParam("channel", "string", "The channel id (C0123ABC) or name (#general)."),
                ActionParam("text", "string", "The message text (Slack mrkdwn)."),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Declare the slack connector."""
    return [CONNECTOR]
