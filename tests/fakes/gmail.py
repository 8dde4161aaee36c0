"""A fake of the Gmail API v1 on top of :class:`FakeGoogle` (same OAuth server, same tokens).

Every Gmail request is checked against the gmail v1 discovery document bundled with
google-api-python-client (method, path, query parameters, body fields) and against the
grant's scopes, including Gmail's rule that the ``gmail.metadata`` scope allows neither the
``q`` parameter nor message bodies.

Endpoints (besides FakeGoogle's):
    GET  /gmail/v1/users/me/profile           users.getProfile
    GET  /gmail/v1/users/me/messages          users.messages.list (labelIds, maxResults, pageToken)
    GET  /gmail/v1/users/me/messages/{id}     users.messages.get (format=metadata|minimal)
    POST /gmail/v1/users/me/messages/send     users.messages.send ({"raw": base64url RFC 2822})
"""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from urllib.parse import unquote

from .google import (
    FakeGoogle,
    Method,
    _ApiError,
    _check_body,
    _check_value,
    _invalid,
    discovery,
)
from .http import Request, Response, json_response, route

__all__ = ["METADATA_SCOPE", "SEND_SCOPE", "FakeGmail"]

METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"
_BODY_SCOPES = {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.readonly",
                "https://www.googleapis.com/auth/gmail.modify"}


class FakeGmail(FakeGoogle):
    """FakeGoogle plus each account's Gmail mailbox.

    Tests add inbox messages with :meth:`add_message` and read what was sent with :meth:`sent`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mail: dict[str, list[dict]] = {}
        self._sent: dict[str, list[EmailMessage]] = {}

    def add_message(self, email: str, sender: str, subject: str, labels: tuple[str, ...] = ("INBOX", "UNREAD"),
                    body: str = "Hello") -> str:
        """Deliver a message to ``email``'s mailbox (newest first in listings); return its id."""
        with self.lock:
            box = self._mail.setdefault(email, [])
            message_id = secrets.token_hex(8)
            now = time.time() + len(box)  # strictly increasing
            box.append({
                "id": message_id, "threadId": message_id, "labelIds": list(labels), "internalDate": str(int(now * 1000)),
                "historyId": str(len(box) + 1), "sizeEstimate": 100 + len(body), "body": body,
                "headers": [{"name": "From", "value": sender}, {"name": "To", "value": email},
                            {"name": "Subject", "value": subject},
                            {"name": "Date", "value": format_datetime(datetime.fromtimestamp(now, UTC))}],
            })
            return message_id

    def sent(self, email: str) -> list[EmailMessage]:
        """The messages ``email`` sent through ``users.messages.send``, parsed."""
        with self.lock:
            return list(self._sent.get(email, []))

    @route("*", r"/gmail/v1/(?P<api_path>.*)")
    def gmail_api(self, request: Request, api_path: str) -> Response:
        """Authenticate, validate against the discovery document and the scopes, then run one call."""
        try:
            grant = self._tokens.bearer(request.bearer() or "")
            if grant is None:
                raise _ApiError(401, "Request had invalid authentication credentials.", "authError",
                                location="Authorization", locationType="header")
            method, params = self._gmail_method(request.method, "gmail/v1/" + api_path)
            body = self._gmail_validate(method, request)
            if not set(method.desc.get("scopes", ())) & set(grant.scopes):
                raise _ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions")
            if not _BODY_SCOPES & set(grant.scopes):
                if request.arg("q") is not None:
                    raise _ApiError(403, "Metadata scope does not support 'q' parameter", "forbidden")
                if method.id == "gmail.users.messages.get" and request.arg("format", "full") in ("full", "raw"):
                    raise _ApiError(403, f"Metadata scope doesn't allow format {request.arg('format', 'full').upper()}",
                                    "forbidden")
            if params.get("userId") not in ("me", grant.account):
                raise _ApiError(403, "Delegation denied for " + grant.account, "forbidden")
            handler = getattr(self, "_" + method.id.replace(".", "_"), None)
            if handler is None:
                raise _ApiError(501, f"{method.id} is not implemented by FakeGmail", "notImplemented")
            return handler(grant.account, request, body, **params)
        except _ApiError as error:
            return error.response

    @staticmethod
    def _gmail_method(http_method: str, path: str) -> tuple[Method, dict[str, str]]:
        _, methods = discovery("gmail.v1")
        for method in methods:
            match = method.pattern.fullmatch(path)
            if match and method.http_method == http_method:
                return method, {k: unquote(v) for k, v in match.groupdict().items()}
        raise _ApiError(404, "Not Found", "notFound")

    @staticmethod
    def _gmail_validate(method: Method, request: Request) -> dict | None:
        doc, _ = discovery("gmail.v1")
        specs = {**doc["parameters"], **method.desc.get("parameters", {})}
        for name, values in request.query.items():
            spec = specs.get(name)
            if spec is None or spec["location"] != "query":
                raise _invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.')
            if len(values) > 1 and not spec.get("repeated"):
                raise _invalid(f"Parameter {name} must not be repeated")
            for value in values:
                _check_value(name, spec, value)
        if "request" not in method.desc:
            return None
        try:
            body = request.json() or {}
        except ValueError:
            raise _ApiError(400, "Parse Error", "parseError") from None
        _check_body(doc["schemas"], method.desc["request"], body, "message", method.id)
        return body

    def _gmail_users_getProfile(self, email: str, request: Request, body: None, userId: str) -> Response:
        box = self._mail.get(email, [])
        return json_response({"emailAddress": email, "messagesTotal": len(box), "threadsTotal": len(box),
                              "historyId": str(len(box) + 1)})

    def _gmail_users_messages_list(self, email: str, request: Request, body: None, userId: str) -> Response:
        wanted = set(request.query.get("labelIds", []))
        found = [m for m in reversed(self._mail.get(email, [])) if wanted <= set(m["labelIds"])]
        start = int(request.arg("pageToken", "0"))
        size = int(request.arg("maxResults", "100"))
        page = found[start:start + size]
        answer: dict = {"resultSizeEstimate": len(found)}
        if page:
            answer["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return json_response(answer)

    def _gmail_users_messages_get(self, email: str, request: Request, body: None, userId: str, id: str) -> Response:
        message = next((m for m in self._mail.get(email, []) if m["id"] == id), None)
        if message is None:
            raise _ApiError(404, "Requested entity was not found.", "notFound")
        answer = {k: copy.deepcopy(message[k]) for k in ("id", "threadId", "labelIds", "historyId", "internalDate",
                                                         "sizeEstimate")}
        if request.arg("format", "full") == "metadata":
            names = {n.lower() for n in request.query.get("metadataHeaders", [])}
            answer["payload"] = {"mimeType": "text/plain", "headers": [
                h for h in message["headers"] if not names or h["name"].lower() in names]}
        return json_response(answer)

    def _gmail_users_messages_send(self, email: str, request: Request, body: dict, userId: str) -> Response:
        try:
            raw = base64.urlsafe_b64decode(body.get("raw", "") + "=" * (-len(body.get("raw", "")) % 4))
        except (binascii.Error, ValueError):
            raise _invalid("Invalid value for ByteString") from None
        message = message_from_bytes(raw, policy=policy.default)
        if not raw or not [a for _, a in getaddresses(message.get_all("To", [])) if "@" in a]:
            raise _invalid("Invalid To header")
        del message["From"]
        message["From"] = email
        self._sent.setdefault(email, []).append(message)
        message_id = secrets.token_hex(8)
        return json_response({"id": message_id, "threadId": message_id, "labelIds": ["SENT"]})
