"""Hostinger connector: read the user's domain portfolio with a Hostinger API token.

The API calls live in :mod:`plugins.hostinger.client`; this module declares the connector.
``HOSTINGER_API_ROOT`` overrides ``https://developers.hostinger.com`` (tests, proxies).
"""
from pathlib import Path

from core import Action, api_root, ConfigField, ConnectorSpec, hookimpl, trying_credentials
from plugins.hostinger import client


def validate(values: dict) -> str:
    """Read the domain portfolio with the token for real; return the account label."""
    with trying_credentials(client.REFUSED, field="api_token"):
        return client.check_token(api_root("HOSTINGER", client.DEFAULT_API_ROOT), values)


def list_domains(ctx) -> dict:
    """List the domains in the user's Hostinger portfolio."""
    return {"domains": client.list_domains(ctx.env("API_ROOT", client.DEFAULT_API_ROOT), ctx.config)}


SPEC = ConnectorSpec(
    key="hostinger",
    name="Hostinger",
    kind="config",
    provider="hostinger",
    description="See your Hostinger domains, their status and when they expire.",
    icon=Path(__file__).parent / "icon.svg",
    fields=(
        ConfigField("api_token", "API token", secret=True,
                    help="Create one in hPanel: Account → API → New token."),
    ),
    validate=validate,
    actions=(
        Action(
            name="list_domains",
            description="List the domains in the connected Hostinger account with their status and expiry date.",
            run=list_domains,
        ),
    ),
)


@hookimpl
def register_connectors():
    """Return the Hostinger connector's declaration."""
    return [SPEC]
