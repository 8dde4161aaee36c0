"""Calendly connector: read the user's upcoming scheduled events.

Calendly refresh tokens are single use: core refreshes under a lock shared by every worker
process and stores the new refresh token before anyone uses the new access token.
"""
from pathlib import Path

from core import Action, ActionParam, ConnectorSpec, OAuthSpec, hookimpl
from plugins.calendly import events

OAUTH = OAuthSpec(
    env_prefix="CALENDLY",
    authorize_url="https://auth.calendly.com/oauth/authorize",
    token_url="https://auth.calendly.com/oauth/token",
    revoke_url="https://auth.calendly.com/oauth/revoke",
    api_root=events.DEFAULT_API_ROOT,
    scopes=("users:read", "scheduled_events:read"),
)

CONNECTOR = ConnectorSpec(
    key="calendly",
    name="Calendly",
    kind="oauth2",
    provider="calendly",
    icon=Path(__file__).parent / "icon.svg",
    description="See the meetings people booked with you on Calendly.",
    oauth=OAUTH,
    fetch_account=events.account_email,
    actions=(
        Action(
            name="list_scheduled_events",
            description="List the upcoming meetings booked on the user's Calendly, soonest first.",
            run=events.list_scheduled_events,
            params=(
                ActionParam("count", "integer", f"At most how many events, 1 to {events.MAX_EVENTS} (default 10).",
                            required=False),
                ActionParam("status", "string", "active (default) or canceled.", required=False,
                            enum=events.STATUSES),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Declare the calendly connector."""
    return [CONNECTOR]
