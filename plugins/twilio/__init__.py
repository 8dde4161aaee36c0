"""Twilio connector: send SMS from the user's own Twilio number with an Account SID and Auth Token.

The REST calls live in :mod:`plugins.twilio.client`; this module declares the connector.
``TWILIO_API_ROOT`` overrides ``https://api.twilio.com`` (tests, proxies).
"""
from pathlib import Path

from core import Action, ActionParam, api_root, ConfigField, ConnectorSpec, hookimpl, trying_credentials
from plugins.twilio import client


def validate(values: dict) -> str:
    """Fetch the Twilio account with ``values`` for real; return its friendly name."""
    with trying_credentials(client.REFUSED, field="auth_token"):
        return client.check_account(api_root("TWILIO", client.DEFAULT_API_ROOT), values)


def send_sms(ctx, to: str, body: str) -> dict:
    """Send an SMS from the connection's From number to ``to``."""
    return client.send_sms(ctx.env("API_ROOT", client.DEFAULT_API_ROOT), ctx.config, to, body)


SPEC = ConnectorSpec(
    key="twilio",
    name="Twilio SMS",
    kind="config",
    provider="twilio",
    description="Send text messages from your Twilio phone number.",
    icon=Path(__file__).parent / "icon.svg",
    fields=(
        ConfigField("account_sid", "Account SID", help="Starts with AC; on the Twilio Console's home page."),
        ConfigField("auth_token", "Auth Token", secret=True, help="Next to the Account SID in the Twilio Console."),
        ConfigField("from_number", "From number",
                    help="One of your Twilio numbers in E.164 form, e.g. +14155550100."),
    ),
    validate=validate,
    actions=(
        Action(
            name="send_sms",
            description="Send a text message (SMS) from the connected Twilio number to one phone number.",
            run=send_sms,
            params=(
                ActionParam("to", "string", "The recipient's phone number in E.164 form, e.g. +14155550100."),
                ActionParam("body", "string", f"The text of the message (at most {client.MAX_BODY} characters)."),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Return the Twilio connector's declaration."""
    return [SPEC]
