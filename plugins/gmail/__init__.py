"""Gmail connector: read the latest messages' headers and send email as the user.

Scopes: ``gmail.metadata`` (headers and labels, never bodies) and ``gmail.send``. It shares
Google's OAuth client (``GOOGLE_*`` variables) with Google Calendar.
"""
from pathlib import Path

from core import Action, ActionParam, ConnectorSpec, hookimpl
from plugins import google
from plugins.gmail import messages

SCOPES = (
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://www.googleapis.com/auth/gmail.send",
)

CONNECTOR = ConnectorSpec(
    key="gmail",
    name="Gmail",
    kind="oauth2",
    provider="google",
    icon=Path(__file__).parent / "icon.svg",
    description="See who wrote to you lately and send email from your Gmail account.",
    oauth=google.oauth_spec(*SCOPES),
    fetch_account=messages.account_email,
    actions=(
        Action(
            name="list_recent_messages",
            description="List the most recent emails in the inbox: sender, subject, date and whether unread.",
            run=messages.list_recent_messages,
            params=(
                ActionParam("max_results", "integer",
                            f"How many messages, 1 to {messages.MAX_RESULTS} (default {messages.DEFAULT_RESULTS}).",
                            required=False),
                ActionParam("unread_only", "boolean", "Only unread messages (default false).", required=False),
            ),
        ),
        Action(
            name="send_email",
            description="Send a plain-text email from the connected Gmail account to one recipient.",
            run=messages.send_email,
            params=(
                ActionParam("to", "string", "The recipient's email address, e.g. bob@example.com."),
                ActionParam("subject", "string", "The subject line (one line)."),
                ActionParam("body", "string", "The plain-text body of the email."),
            ),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Declare the gmail connector."""
    return [CONNECTOR]


@hookimpl
def check_configuration(platform):
    """In production, Gmail needs Google's client (``GOOGLE_CLIENT_ID`` / ``_SECRET``)."""
    return google.client_problems(platform, CONNECTOR.key)
