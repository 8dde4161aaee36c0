"""SMTP connector: send email through any SMTP server with a username and password.

The connection logic lives in :mod:`plugins.smtp.client`; this module only declares the
connector and its ``send_email`` action.
"""
from pathlib import Path

from core import Action, ActionParam, ConfigField, ConnectorSpec, hookimpl
from plugins.smtp import client


def validate(values: dict) -> str:
    """Log in to the SMTP server with ``values`` for real and return ``username (host)``.

    Raises :class:`core.ConnectorValidationError` with a user-actionable message.
    """
    return client.check_login(values)


def send_email(ctx, to: str, subject: str, body: str) -> dict:
    """Send a plain-text email from the connection's ``from_address`` to ``to``."""
    msg = client.build_message(str(ctx.config.get("from_address") or ""), to, subject, body)
    client.send_message(ctx.config, msg)
    return {"sent": True, "to": msg["To"], "message_id": msg["Message-ID"]}


SPEC = ConnectorSpec(
    key="smtp",
    name="Email (SMTP)",
    kind="config",
    provider="smtp",
    description="Send email through your own mail server or provider with an SMTP login.",
    icon=Path(__file__).parent / "icon.svg",
    fields=(
        ConfigField("host", "SMTP server", help="For example smtp.example.com."),
        ConfigField("port", "Port", type="integer", default=client.DEFAULT_PORT,
                    help="587 for STARTTLS, 465 for implicit TLS."),
        ConfigField("username", "Username"),
        ConfigField("password", "Password", secret=True,
                    help="Your mail password or an app password."),
        ConfigField("from_address", "From address", type="email",
                    help="The sender address of the emails you send."),
        ConfigField("tls_mode", "TLS mode", type="choice", default=client.DEFAULT_TLS_MODE,
                    choices=client.TLS_MODES,
                    help="starttls (port 587), tls (implicit TLS, port 465) or none (unencrypted)."),
    ),
    validate=validate,
    actions=(
        Action(
            name="send_email",
            description="Send a plain-text email from the connected account to one recipient.",
            run=send_email,
            params=(
                ActionParam("to", "string", "The recipient's email address, e.g. bob@example.com."),
                ActionParam("subject", "string", "The subject line."),
                ActionParam("body", "string", "The plain-text body of the email."),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Return the SMTP connector's declaration."""
    return [SPEC]
