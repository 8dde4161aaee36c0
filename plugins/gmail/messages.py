"""Gmail API calls: the account's address, the latest messages' headers, sending a message."""
from __future__ import annotations

import base64
import functools
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage

from core import ConnectorError
from core import gettext as _
from plugins import google

HEADERS = ("From", "To", "Subject", "Date")
DEFAULT_RESULTS = 10
MAX_RESULTS = 25


@functools.lru_cache(maxsize=8)
def _users(api_root: str | None):
    """The shared ``users`` resource of the Gmail v1 client for ``api_root``."""
    return google.service("gmail", "v1", api_root).users()


@functools.lru_cache(maxsize=8)
def _messages(api_root: str | None):
    """The shared ``users.messages`` resource (building it costs milliseconds: keep it)."""
    return _users(api_root).messages()


def account_email(token: dict, api_root: str | None) -> str:
    """The connected account's address, from ``users.getProfile`` (allowed by gmail.metadata)."""
    request = _users(api_root).getProfile(userId="me")
    try:
        return request.execute(http=google.authorized_http(token["access_token"]))["emailAddress"]
    except google.HttpError as exc:
        raise google.as_connector_error(exc) from None


def list_recent_messages(ctx, max_results: int | None = None, unread_only: bool | None = None) -> dict:
    """The newest inbox messages as ``{id, thread_id, from, to, subject, date, unread}``."""
    count = DEFAULT_RESULTS if max_results is None else max_results
    if not 1 <= count <= MAX_RESULTS:
        raise ConnectorError(_("“%(name)s” must be between 1 and %(max)s.", name="max_results", max=MAX_RESULTS),
                             code="invalid_input",
                             field="max_results")
    messages = _messages(ctx.api_root)
    labels = ["INBOX", "UNREAD"] if unread_only else ["INBOX"]
    listed = _execute(ctx, lambda: messages.list(userId="me", labelIds=labels, maxResults=count))
    return {"messages": [_summary(_execute(ctx, functools.partial(
        messages.get, userId="me", id=ref["id"], format="metadata", metadataHeaders=list(HEADERS))))
        for ref in listed.get("messages", [])]}


def send_email(ctx, to: str, subject: str, body: str) -> dict:
    """Send a plain-text message to ``to``; Gmail sets the sender to the connected account."""
    raw = base64.urlsafe_b64encode(build_message(to, subject, body).as_bytes()).decode()
    sent = _execute(ctx, lambda: _messages(ctx.api_root).send(userId="me", body={"raw": raw}))
    return {"sent": True, "to": to.strip(), "id": sent["id"], "thread_id": sent.get("threadId")}


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message to one address; ``invalid_input`` names a bad ``to`` or ``subject``."""
    to = (to or "").strip()
    try:
        address = Address(addr_spec=to)
    except (ValueError, IndexError, HeaderParseError):
        address = None
    if address is None or "." not in address.domain or not address.username:
        raise ConnectorError(_("“%(to)s” is not an email address; give one like name@example.com.", to=to),
                             code="invalid_input", field="to")
    message = EmailMessage()
    message["To"] = address
    try:
        message["Subject"] = subject
    except ValueError:
        raise ConnectorError(_("The subject must be a single line."), code="invalid_input", field="subject") from None
    message.set_content(body)
    return message


def _execute(ctx, make_request):
    return google.execute(ctx.credentials, ctx.user.id, ctx.spec.key, make_request)


def _summary(message: dict) -> dict:
    headers = {h["name"].lower(): h["value"] for h in message.get("payload", {}).get("headers", [])}
    return {"id": message["id"], "thread_id": message.get("threadId"),
            "from": headers.get("from"), "to": headers.get("to"), "subject": headers.get("subject", ""),
            "date": headers.get("date"), "unread": "UNREAD" in message.get("labelIds", [])}
