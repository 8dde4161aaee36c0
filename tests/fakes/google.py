"""A fake of Google's OAuth 2.0 server and of the Google Calendar API v3, over real HTTP.

Point the platform at it with :meth:`FakeGoogle.env` (``GOOGLE_AUTH_URI``, ``GOOGLE_TOKEN_URI``,
``GOOGLE_REVOKE_URI``, ``GOOGLE_API_ROOT``). Every Calendar request is checked against the
discovery document bundled with google-api-python-client (method, path, query parameters, enum
values, body fields), so a request the fake accepts is one Google's client library could build.

Endpoints:
    GET  /o/oauth2/v2/auth     authorization (PKCE S256 required), redirects with code or error
    POST /token                authorization_code and refresh_token grants
    POST /revoke               revokes the grant a token belongs to
    *    /calendar/v3/...      calendarList.list/get, events.insert/get/patch/update/delete/list/watch,
                               channels.stop, freebusy.query
    POST /batch/calendar/v3    multipart/mixed batch of Calendar calls
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import secrets
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import compat32
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import googleapiclient

from core.testing import Grant, IssuedTokens, s256

from .http import (
    OAuthProviderFake,
    Request,
    Response,
    json_response,
    redirect,
    route,
    text_response,
)

__all__ = ["CALENDAR_SCOPE", "FakeGoogle", "google_error"]

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"

_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_ACCESS_RANK = {"freeBusyReader": 0, "reader": 1, "writerWithoutPrivateAccess": 2, "writer": 2, "owner": 3}
_READ_ONLY_EVENT_FIELDS = {"kind", "etag", "id", "created", "updated", "htmlLink", "iCalUID", "creator", "organizer"}
_DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "conflict",
    410: "deleted",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
}
#: The longest window ``freebusy.query`` accepts, in days (Google refuses longer ones).
FREEBUSY_MAX_DAYS = 62
_NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}


def google_error(status: int, message: str, reason: str, domain: str = "global", **details: str) -> Response:
    """A Google API error response: ``{"error": {"code", "message", "errors": [{...}]}}``."""
    error = {"message": message, "domain": domain, "reason": reason, **details}
    return json_response({"error": {"code": status, "message": message, "errors": [error]}}, status)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status, _NO_STORE)


class _ApiError(Exception):
    """Raised inside Calendar handlers; carries the Google error response."""

    def __init__(self, status: int, message: str, reason: str, domain: str = "global", **details: str) -> None:
        super().__init__(message)
        self.response = google_error(status, message, reason, domain, **details)


def _invalid(message: str, **details: str) -> _ApiError:
    return _ApiError(400, message, "invalid", **details)


@dataclass(frozen=True)
class Method:
    """A Calendar API method of the discovery document."""

    id: str
    http_method: str
    pattern: re.Pattern
    desc: dict


@functools.cache
def discovery(api: str = "calendar.v3") -> tuple[dict, list[Method]]:
    """A discovery document bundled with google-api-python-client and its methods, literal paths first."""
    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", f"{api}.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    methods = []

    def walk(resources: dict) -> None:
        for resource in resources.values():
            for desc in resource.get("methods", {}).values():
                template = re.escape(desc.get("flatPath") or desc["path"])
                regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", template)
                methods.append(Method(desc["id"], desc["httpMethod"], re.compile(regex), desc))
            walk(resource.get("resources", {}))

    walk(doc["resources"])
    methods.sort(key=lambda m: m.pattern.pattern.count("(?P<"))
    return doc, methods


def _check_value(name: str, spec: dict, value: str) -> None:
    """Validate one query parameter value against its discovery spec."""
    if "enum" in spec and value not in spec["enum"]:
        raise _invalid(f"Invalid value '{value}' for {name}: must be one of {', '.join(spec['enum'])}", location=name)
    kind = spec.get("type")
    if kind == "boolean" and value not in ("true", "false"):
        raise _invalid(f"Invalid boolean value '{value}' for {name}", location=name)
    if kind == "integer":
        try:
            number = int(value)
        except ValueError:
            raise _invalid(f"Invalid integer value '{value}' for {name}", location=name) from None
        if ("minimum" in spec and number < int(spec["minimum"])) or ("maximum" in spec and number > int(spec["maximum"])):
            raise _invalid(f"Value {value} for {name} is out of range", location=name)
    if spec.get("format") == "date-time" and _parse_time(value, strict=True) is None:
        raise _invalid(f"Invalid RFC3339 timestamp with time zone for {name}: '{value}'", location=name)


def _check_body(schemas: dict, schema: dict, value: Any, where: str, method_id: str) -> None:
    """Validate a JSON body against a discovery schema: known fields, types, required fields."""
    schema = schemas[schema["$ref"]] if "$ref" in schema else schema
    kind = schema.get("type")
    if "properties" in schema or kind == "object":
        if not isinstance(value, dict):
            raise _invalid(f"Invalid value at '{where}': expected an object")
        properties = schema.get("properties", {})
        for key, item in value.items():
            sub = properties.get(key, schema.get("additionalProperties"))
            if sub is None:
                raise _invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
            if item is not None:
                _check_body(schemas, sub, item, f"{where}.{key}", method_id)
        for key, sub in properties.items():
            if method_id in sub.get("annotations", {}).get("required", ()) and value.get(key) is None:
                message = {"start": "Missing start time.", "end": "Missing end time."}.get(key, f"Missing {where}.{key}.")
                raise _ApiError(400, message, "required")
    elif kind == "array":
        if not isinstance(value, list):
            raise _invalid(f"Invalid value at '{where}': expected an array")
        for index, item in enumerate(value):
            _check_body(schemas, schema["items"], item, f"{where}[{index}]", method_id)
    elif kind in ("string", "boolean", "integer"):
        expected = {"string": str, "boolean": bool, "integer": (int, str)}[kind]
        if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
            raise _invalid(f"Invalid value at '{where}' ({kind}): {json.dumps(value)}")


def _parse_time(value: str, strict: bool = False) -> datetime | None:
    """Parse an RFC 3339 timestamp (naive ones as UTC unless ``strict``); ``None`` if invalid."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None if strict else parsed.replace(tzinfo=UTC)
    return parsed


def _event_time(when: dict | None) -> datetime | None:
    """The instant of an ``EventDateTime`` (all-day dates as UTC midnight)."""
    if not when:
        return None
    if "dateTime" in when:
        return _parse_time(when["dateTime"])
    return _parse_time(when["date"] + "T00:00:00+00:00") if "date" in when else None


def _rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as Google writes it: ``2030-05-01T09:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _merge(target: dict, patch: dict) -> None:
    """Patch semantics: objects merge recursively, other values replace, ``null`` clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@dataclass
class _Code:
    email: str
    scopes: list[str]
    redirect_uri: str
    code_challenge: str
    offline: bool


@dataclass
class _Channel:
    """A push channel opened by ``events.watch`` on one calendar of one account."""

    id: str
    resource_id: str
    email: str
    calendar_id: str
    address: str
    token: str | None
    expiration: int  # milliseconds since the epoch
    messages: int = 0


@dataclass
class _Account:
    email: str
    calendars: dict[str, dict]  # calendar id -> CalendarListEntry
    events: dict[str, dict[str, dict]]  # calendar id -> event id -> Event


_CALENDAR_HANDLERS: dict[str, Callable] = {}


def _calendar_method(method_id: str) -> Callable[[Callable], Callable]:
    """Register a FakeGoogle method as the implementation of a Calendar API method id."""

    def decorate(func: Callable) -> Callable:
        _CALENDAR_HANDLERS[method_id] = func
        return func

    return decorate


class FakeGoogle(OAuthProviderFake):
    """Fake Google OAuth 2.0 server + Calendar API v3 for one OAuth client.

    Attributes tests may set: ``issuer`` (the ``iss`` sent back by authorize),
    ``access_token_ttl`` (seconds), ``refresh_token_limit`` (live refresh tokens per account,
    the oldest is dropped silently beyond it), ``quota_user_per_min`` / ``quota_project_per_min``
    (``None`` = unlimited) and ``quota_window`` (seconds, sliding).

    Attributes tests may read: ``refresh_count`` (refresh grants received), ``quota_errors``
    (rate-limit errors returned), ``authorize_params`` (query of every authorize request),
    :attr:`calendar_calls`.
    """

    def __init__(self, client_id: str = "test-client", client_secret: str = "test-secret", *, latency: float = 0.0):
        super().__init__(client_id, client_secret, latency=latency)
        self.issuer = "https://accounts.google.com"
        self.access_token_ttl = 3599
        self.refresh_token_limit = 100
        self.quota_user_per_min: int | None = None
        self.quota_project_per_min: int | None = None
        self.quota_window = 60.0
        self.quota_errors = 0
        self.authorize_params: list[dict[str, str]] = []
        self._calendar_calls = 0
        self._accounts: dict[str, _Account] = {}
        self._consent_email: str | None = None
        self._granted_scopes_next: list[str] | None = None
        self._codes: dict[str, _Code] = {}
        self._grants: list[Grant] = []  # one per consent (``account`` is the email); tokens in _tokens
        self._tokens = IssuedTokens()
        self._revision = 0  # bumped by every event change; etags and sync tokens derive from it
        self._sync_floor = 0  # sync tokens older than this answer 410 fullSyncRequired
        self.channel_ttl = 7 * 24 * 3600.0
        self.channels: dict[str, _Channel] = {}
        self.pushes_sent = 0
        self.push_failures = 0
        self._project_calls: deque[float] = deque()
        self._user_calls: dict[str, deque[float]] = {}

    # ----------------------------------------------------------------- test helpers

    def env(self) -> dict[str, str]:
        """Environment overrides pointing the platform at this fake."""
        return {
            "GOOGLE_AUTH_URI": f"{self.url}/o/oauth2/v2/auth",
            "GOOGLE_TOKEN_URI": f"{self.url}/token",
            "GOOGLE_REVOKE_URI": f"{self.url}/revoke",
            "GOOGLE_API_ROOT": f"{self.url}/",
        }

    @property
    def calendar_calls(self) -> int:
        """Calendar API calls received (each part of a batch counts as one)."""
        with self.lock:
            return self._calendar_calls

    def add_account(self, email: str, calendars: Sequence[dict] = ()) -> None:
        """Create a Google account with its primary calendar (id = ``email``) plus ``calendars``.

        Each extra calendar is a dict with at least ``id`` and ``summary``; other keys (e.g.
        ``"accessRole": "reader"``) override the CalendarListEntry defaults.
        """
        with self.lock:
            account = _Account(email, {}, {})
            for extra in [{"id": email, "summary": email, "primary": True}, *calendars]:
                entry = {
                    "kind": "calendar#calendarListEntry",
                    "etag": f'"{secrets.randbelow(10**15)}"',
                    "timeZone": "UTC",
                    "accessRole": "owner",
                    "defaultReminders": [],
                    "selected": True,
                    **extra,
                }
                account.calendars[entry["id"]] = entry
                account.events[entry["id"]] = {}
            self._accounts[email] = account

    def consent_as(self, email: str) -> None:
        """Make ``email`` the account that consents at the next authorization (default: the first)."""
        with self.lock:
            if email not in self._accounts:
                raise KeyError(f"unknown account {email!r}: call add_account() first")
            self._consent_email = email

    def grant_scopes_next(self, scopes: Sequence[str]) -> None:
        """Make the next consent grant only the requested scopes that are in ``scopes``."""
        with self.lock:
            self._granted_scopes_next = list(scopes)

    def issue_token(self, email: str, scopes: Sequence[str] = (CALENDAR_SCOPE,), refresh: bool = True) -> dict:
        """Create a grant for ``email`` without the browser dance; return the token response."""
        with self.lock:
            if email not in self._accounts:
                raise KeyError(f"unknown account {email!r}: call add_account() first")
            return self._issue(self._new_grant(email, list(scopes)), refresh)

    def refresh_tokens(self, email: str) -> list[str]:
        """The live refresh tokens of ``email``, oldest first."""
        with self.lock:
            return [g.refresh_token for g in self._grants if g.account == email and g.refresh_token]

    def revoke_grant(self, email: str) -> int:
        """Simulate the user removing the app's access in their Google account; return grants revoked."""
        with self.lock:
            grants = [g for g in self._grants if g.account == email and not g.revoked]
            for grant in grants:
                self._tokens.revoke(grant)
            return len(grants)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired."""
        with self.lock:
            self._tokens.expire()

    def events(self, email: str, calendar_id: str | None = None, include_deleted: bool = False) -> list[dict]:
        """Copies of the events of ``email``'s calendar (primary by default), tombstones optional."""
        with self.lock:
            store = self._accounts[email].events[calendar_id or email]
            return [copy.deepcopy(e) for e in store.values() if include_deleted or e["status"] != "cancelled"]

    def add_event(self, email: str, event: dict, calendar_id: str | None = None) -> dict:
        """Store ``event`` directly (no validation) as if the user had created it; return it."""
        with self.lock:
            account = self._accounts[email]
            cal_id = calendar_id or email
            event_id = event.get("id") or uuid.uuid4().hex
            account.events[cal_id][event_id] = self._new_event(account, cal_id, event_id, event)
            return copy.deepcopy(account.events[cal_id][event_id])

    def edit_as_user(self, email: str, event_id: str, calendar_id: str | None = None, **fields: Any) -> dict:
        """Change an event as the user would in Google Calendar (e.g. ``start=…, end=…``), then push."""
        with self.lock:
            event = self._accounts[email].events[calendar_id or email][event_id]
            _merge(event, fields)
            self._touch(event)
            self._push(email, calendar_id or email)
            return copy.deepcopy(event)

    def delete_as_user(self, email: str, event_id: str, calendar_id: str | None = None) -> None:
        """Delete an event as the user would (it becomes a tombstone), then push."""
        with self.lock:
            event = self._accounts[email].events[calendar_id or email][event_id]
            event["status"] = "cancelled"
            self._touch(event)
            self._push(email, calendar_id or email)

    def invalidate_sync_tokens(self) -> None:
        """Make every sync token issued so far answer 410 ``fullSyncRequired``."""
        with self.lock:
            self._revision += 1
            self._sync_floor = self._revision

    def live_channels(self, email: str | None = None) -> list[_Channel]:
        """The open push channels (of ``email``), unexpired."""
        now = time.time() * 1000
        with self.lock:
            return [c for c in self.channels.values() if c.expiration > now and email in (None, c.email)]

    def _push(self, email: str, calendar_id: str, state: str = "exists", only: _Channel | None = None) -> None:
        """Notify every live channel watching ``email``'s ``calendar_id`` (from another thread, as Google does)."""
        now = time.time() * 1000
        for channel in [only] if only else list(self.channels.values()):
            if channel.email != email or channel.calendar_id != calendar_id or channel.expiration <= now:
                continue
            channel.messages += 1
            headers = {"X-Goog-Channel-ID": channel.id, "X-Goog-Resource-ID": channel.resource_id,
                       "X-Goog-Resource-State": state, "X-Goog-Message-Number": str(channel.messages),
                       "X-Goog-Resource-URI": f"{self.url}/calendar/v3/calendars/{calendar_id}/events",
                       "X-Goog-Channel-Expiration": time.strftime(
                           "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(channel.expiration / 1000))}
            if channel.token is not None:
                headers["X-Goog-Channel-Token"] = channel.token
            threading.Thread(target=self._send_push, args=(channel.address, headers), daemon=True).start()

    def _send_push(self, address: str, headers: dict[str, str]) -> None:
        request = urllib.request.Request(address, data=b"", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                ok = 200 <= response.status < 300
        except OSError:
            ok = False
        with self.lock:
            self.pushes_sent += 1
            self.push_failures += 0 if ok else 1

    def error_response(self, status: int, message: str | None = None) -> Response:
        """Google-shaped error (used for injected faults and unknown paths)."""
        return google_error(status, message or HTTPStatus(status).phrase, _DEFAULT_REASONS.get(status, "backendError"))

    def dispatch(self, request: Request) -> Response:
        """Count Calendar calls (injected faults and batch parts included), then dispatch."""
        if request.path.startswith("/calendar/v3/"):
            self._calendar_calls += 1
        return super().dispatch(request)

    # ----------------------------------------------------------------- OAuth 2.0

    @route("GET", r"/o/oauth2/v2/auth")
    def authorize(self, request: Request) -> Response:
        """Authorization endpoint: validate, then redirect back with a code (or ``access_denied``)."""
        params = {name: values[0] for name, values in request.query.items()}
        self.authorize_params.append(params)
        problem = self._authorization_problem(params)
        if problem:
            return text_response(f"Error 400: invalid_request\n\n{problem}", 400)
        redirect_uri, state = params["redirect_uri"], params["state"]
        if self.consent_denied():
            return redirect(redirect_uri, {"error": "access_denied", "state": state})
        email = self._consent_email or next(iter(self._accounts))
        scopes = params["scope"].split()
        if self._granted_scopes_next is not None:
            scopes = [s for s in scopes if s in self._granted_scopes_next]
        if params.get("include_granted_scopes") == "true":  # incremental: the earlier grants' scopes join
            earlier = [s for g in self._grants if g.account == email and not g.revoked for s in g.scopes]
            scopes = list(dict.fromkeys([*earlier, *scopes]))
        self._consent_email = self._granted_scopes_next = None
        code = "4/0fake-" + secrets.token_urlsafe(24)
        offline = params.get("access_type") == "offline" and "consent" in params.get("prompt", "").split()
        self._codes[code] = _Code(email, scopes, redirect_uri, params["code_challenge"], offline)
        return redirect(redirect_uri, {"code": code, "state": state, "scope": " ".join(scopes), "iss": self.issuer})

    def _authorization_problem(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.client_id:
            return "Error 401: invalid_client. The OAuth client was not found."
        for name in ("redirect_uri", "response_type", "scope", "state", "code_challenge"):
            if not params.get(name):
                return f"Missing required parameter: {name}"
        if params["response_type"] != "code":
            return f"Invalid response_type: {params['response_type']}"
        if params.get("code_challenge_method") != "S256":
            return "Invalid code_challenge_method: S256 required"
        if not self._accounts:
            return "FakeGoogle has no account: call add_account() first"
        return None

    @route("POST", r"/token")
    def token(self, request: Request) -> Response:
        """Token endpoint: ``authorization_code`` (with PKCE) and ``refresh_token`` grants."""
        form = request.form()
        client_id, client_secret = self.client_credentials(request, form)
        if not client_id:
            return _oauth_error("invalid_request", "Could not determine client ID from request.")
        if client_id != self.client_id or client_secret != self.client_secret:
            return _oauth_error("invalid_client", "Unauthorized", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            self.refresh_count += 1
            grant = self._tokens.refresh.get(form.get("refresh_token", ""))
            if grant is None:
                return _oauth_error("invalid_grant", "Token has been expired or revoked.")
            return json_response(self._issue(grant, refresh=False), headers=_NO_STORE)
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type or ''}")

    def _exchange_code(self, form: dict[str, str]) -> Response:
        code = self._codes.pop(form.get("code", ""), None)  # single use, whatever the outcome
        if code is None:
            return _oauth_error("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _oauth_error("redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if not verifier:
            return _oauth_error("invalid_grant", "Missing code verifier.")
        if s256(verifier) != code.code_challenge:
            return _oauth_error("invalid_grant", "Invalid code verifier.")
        grant = self._new_grant(code.email, code.scopes)
        return json_response(self._issue(grant, refresh=code.offline), headers=_NO_STORE)

    @route("POST", r"/revoke")
    def revoke(self, request: Request) -> Response:
        """Revocation endpoint: revoke the grant of an access or refresh token."""
        token = request.form().get("token") or request.arg("token") or ""
        grant = self._tokens.holder(token)
        if grant is None:
            return _oauth_error("invalid_token", "Token expired or revoked")
        self._tokens.revoke(grant)
        return json_response({})

    def _new_grant(self, email: str, scopes: list[str]) -> Grant:
        grant = Grant(email, scopes)
        self._grants.append(grant)
        return grant

    def _issue(self, grant: Grant, refresh: bool) -> dict:
        token = self._tokens.issue_access(grant, self.access_token_ttl, "ya29.fake-" + secrets.token_urlsafe(24))
        body = {
            "access_token": token,
            "expires_in": self.access_token_ttl,
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = self._tokens.issue_refresh(grant, "1//fake-" + secrets.token_urlsafe(32))
            live = [g for g in self._grants if g.account == grant.account and g.refresh_token]
            for oldest in live[: max(0, len(live) - self.refresh_token_limit)]:
                self._tokens.drop_refresh(oldest)
        return body

    # ----------------------------------------------------------------- Calendar API plumbing

    @route("*", r"/calendar/v3/(?P<api_path>.*)")
    def calendar_api(self, request: Request, api_path: str) -> Response:
        """Authenticate, rate-limit, validate against discovery, then run one Calendar call."""
        try:
            grant = self._tokens.bearer(request.bearer() or "")
            if grant is None:
                raise _ApiError(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                    "login cookie or other valid authentication credential.",
                    "authError",
                    location="Authorization",
                    locationType="header",
                )
            self._check_quota(grant.account)
            method, path_params = self._find_method(request.method, api_path)
            body = self._validate(method, request)
            if not set(method.desc.get("scopes", ())) & set(grant.scopes):
                raise _ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions")
            handler = _CALENDAR_HANDLERS.get(method.id)
            if handler is None:
                raise _ApiError(501, f"{method.id} is not implemented by FakeGoogle", "notImplemented")
            return handler(self, self._accounts[grant.account], request, body, **path_params)
        except _ApiError as error:
            return error.response

    @route("POST", r"/batch/calendar/v3")
    def batch(self, request: Request) -> Response:
        """Batch endpoint: run each ``application/http`` part as a separate Calendar call."""
        content_type = request.headers.get("content-type", "")
        message = BytesParser(policy=compat32).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
        )
        if not content_type.startswith("multipart/mixed") or not message.is_multipart():
            return self.error_response(400, "Batch requests must be multipart/mixed")
        shared = {k: v for k, v in request.headers.items() if not k.startswith("content-") and k not in ("host", "connection")}
        boundary = "batch_" + secrets.token_hex(12)
        out = b""
        for part in message.get_payload():
            inner = self._parse_batch_part(part.get_payload(decode=True), shared)
            if inner is None:
                return self.error_response(400, "Invalid batch part: expected an application/http request")
            response = self.dispatch(inner)
            content_id = part.get("Content-ID", "")
            response_id = f"Content-ID: <response-{content_id[1:]}\r\n" if content_id.startswith("<") else ""
            headers = {**response.headers, "Content-Length": str(len(response.body))}
            out += (
                f"--{boundary}\r\nContent-Type: application/http\r\n{response_id}\r\n"
                f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "\r\n"
            ).encode() + response.body + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return Response(200, out, {"Content-Type": f"multipart/mixed; boundary={boundary}"})

    @staticmethod
    def _parse_batch_part(payload: bytes | None, shared_headers: dict[str, str]) -> Request | None:
        """Parse one ``application/http`` part: request line, headers, body."""
        if payload is None:
            return None
        request_line, _, rest = payload.lstrip(b"\r\n").partition(b"\n")
        words = request_line.decode("latin-1").split()
        if len(words) < 2:
            return None
        inner = BytesParser(policy=compat32).parsebytes(rest)
        body = inner.get_payload(decode=True) or b""
        length = inner.get("Content-Length")
        body = body[: int(length)] if length and length.isdigit() else body.rstrip(b"\r\n")
        url = urlsplit(words[1])
        return Request(
            method=words[0].upper(),
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={**shared_headers, **{k.lower(): v for k, v in inner.items()}},
            body=body,
        )

    def _check_quota(self, email: str) -> None:
        now = time.monotonic()
        user = self._user_calls.setdefault(email, deque())
        for calls in (self._project_calls, user):
            while calls and calls[0] <= now - self.quota_window:
                calls.popleft()
        if self.quota_project_per_min is not None and len(self._project_calls) >= self.quota_project_per_min:
            limit = "Queries per minute"
        elif self.quota_user_per_min is not None and len(user) >= self.quota_user_per_min:
            limit = "Queries per minute per user"
        else:
            self._project_calls.append(now)
            user.append(now)
            return
        self.quota_errors += 1
        raise _ApiError(
            403,
            f"Quota exceeded for quota metric 'Queries' and limit '{limit}' of service "
            "'calendar-json.googleapis.com'.",
            "rateLimitExceeded",
            domain="usageLimits",
        )

    @staticmethod
    def _find_method(http_method: str, api_path: str) -> tuple[Method, dict[str, str]]:
        _, methods = discovery()
        path_matched = False
        for method in methods:
            match = method.pattern.fullmatch(api_path)
            if match:
                path_matched = True
                if method.http_method == http_method:
                    return method, {k: unquote(v) for k, v in match.groupdict().items()}
        if path_matched:
            raise _ApiError(405, f"Method {http_method} is not allowed for /calendar/v3/{api_path}", "httpMethodNotAllowed")
        raise _ApiError(404, "Not Found", "notFound")

    @staticmethod
    def _validate(method: Method, request: Request) -> dict | None:
        """Check query parameters and body against the discovery document; return the body."""
        doc, _ = discovery()
        specs = {**doc["parameters"], **method.desc.get("parameters", {})}
        for name, values in request.query.items():
            spec = specs.get(name)
            if spec is None or spec["location"] != "query":
                raise _invalid(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter.',
                    location=name,
                    locationType="parameter",
                )
            if len(values) > 1 and not spec.get("repeated"):
                raise _invalid(f"Parameter {name} must not be repeated", location=name)
            for value in values:
                _check_value(name, spec, value)
        for name, spec in specs.items():
            if spec.get("required") and spec["location"] == "query" and name not in request.query:
                raise _ApiError(400, f"Required parameter: {name}", "required", location=name, locationType="parameter")
        if "request" not in method.desc:
            return None
        try:
            body = request.json() or {}
        except ValueError:
            raise _ApiError(400, "Parse Error", "parseError") from None
        _check_body(doc["schemas"], method.desc["request"], body, "resource", method.id)
        return body

    # ----------------------------------------------------------------- Calendar API methods

    def _calendar(self, account: _Account, calendar_id: str, write: bool = False) -> dict:
        entry = account.calendars.get(account.email if calendar_id == "primary" else calendar_id)
        if entry is None:
            raise _ApiError(404, "Not Found", "notFound")
        if write and _ACCESS_RANK[entry["accessRole"]] < _ACCESS_RANK["writer"]:
            raise _ApiError(403, "You need to have writer access to this calendar.", "requiredAccessLevel")
        return entry

    @staticmethod
    def _page(items: list[dict], request: Request, default_size: int) -> tuple[list[dict], dict]:
        """Slice ``items`` by ``pageToken``/``maxResults``; return the page and ``nextPageToken`` (if any)."""
        token = request.arg("pageToken", "0")
        if not token.isdigit():
            raise _invalid("Invalid page token", location="pageToken")
        start, size = int(token), min(int(request.arg("maxResults", str(default_size))), 2500)
        extra = {"nextPageToken": str(start + size)} if start + size < len(items) else {}
        return items[start : start + size], extra

    @_calendar_method("calendar.calendarList.list")
    def _calendar_list_list(self, account: _Account, request: Request, body: None) -> Response:
        min_rank = _ACCESS_RANK[request.arg("minAccessRole", "freeBusyReader")]
        entries = [copy.deepcopy(c) for c in account.calendars.values() if _ACCESS_RANK[c["accessRole"]] >= min_rank]
        page, extra = self._page(entries, request, 100)
        if "nextPageToken" not in extra:
            extra["nextSyncToken"] = str(self._revision)
        return json_response({"kind": "calendar#calendarList", "etag": f'"{self._revision}"', "items": page, **extra})

    @_calendar_method("calendar.calendarList.get")
    def _calendar_list_get(self, account: _Account, request: Request, body: None, calendarId: str) -> Response:
        return json_response(copy.deepcopy(self._calendar(account, calendarId)))

    def _new_event(self, account: _Account, calendar_id: str, event_id: str, body: dict) -> dict:
        event = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": _now(),
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "creator": {"email": account.email, "self": True},
            "organizer": {"email": calendar_id, "self": True},
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        event.update({k: copy.deepcopy(v) for k, v in body.items() if k not in _READ_ONLY_EVENT_FIELDS and v is not None})
        self._touch(event)
        return event

    def _touch(self, event: dict) -> None:
        self._revision += 1
        event["etag"] = f'"{self._revision}"'
        event["updated"] = _now()

    def _event(self, account: _Account, calendar_id: str, event_id: str, write: bool = False) -> dict:
        entry = self._calendar(account, calendar_id, write)
        event = account.events[entry["id"]].get(event_id)
        if event is None:
            raise _ApiError(404, "Not Found", "notFound")
        return event

    @_calendar_method("calendar.events.insert")
    def _events_insert(self, account: _Account, request: Request, body: dict, calendarId: str) -> Response:
        calendar_id = self._calendar(account, calendarId, write=True)["id"]
        store = account.events[calendar_id]
        event_id = body.get("id")
        if event_id is None:
            event_id = uuid.uuid4().hex
        elif not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            raise _invalid("Invalid resource id value.")
        elif event_id in store:
            raise _ApiError(409, "The requested identifier already exists.", "duplicate")
        store[event_id] = self._new_event(account, calendar_id, event_id, body)
        self._push(account.email, calendar_id)
        return json_response(copy.deepcopy(store[event_id]))

    @_calendar_method("calendar.events.get")
    def _events_get(self, account: _Account, request: Request, body: None, calendarId: str, eventId: str) -> Response:
        return json_response(copy.deepcopy(self._event(account, calendarId, eventId)))

    @_calendar_method("calendar.events.patch")
    def _events_patch(self, account: _Account, request: Request, body: dict, calendarId: str, eventId: str) -> Response:
        event = self._event(account, calendarId, eventId, write=True)
        _merge(event, {k: v for k, v in body.items() if k not in _READ_ONLY_EVENT_FIELDS})
        self._touch(event)
        self._push(account.email, self._calendar(account, calendarId)["id"])
        return json_response(copy.deepcopy(event))

    @_calendar_method("calendar.events.update")
    def _events_update(self, account: _Account, request: Request, body: dict, calendarId: str, eventId: str) -> Response:
        event = self._event(account, calendarId, eventId, write=True)
        kept = {k: event[k] for k in _READ_ONLY_EVENT_FIELDS if k in event}
        event.clear()
        event.update(status="confirmed", **kept)
        event.update({k: copy.deepcopy(v) for k, v in body.items() if k not in _READ_ONLY_EVENT_FIELDS and v is not None})
        self._touch(event)
        self._push(account.email, self._calendar(account, calendarId)["id"])
        return json_response(copy.deepcopy(event))

    @_calendar_method("calendar.events.delete")
    def _events_delete(self, account: _Account, request: Request, body: None, calendarId: str, eventId: str) -> Response:
        event = self._event(account, calendarId, eventId, write=True)
        if event["status"] == "cancelled":
            raise _ApiError(410, "Resource has been deleted", "deleted")
        event["status"] = "cancelled"
        self._touch(event)
        self._push(account.email, self._calendar(account, calendarId)["id"])
        return Response(204)

    @_calendar_method("calendar.events.list")
    def _events_list(self, account: _Account, request: Request, body: None, calendarId: str) -> Response:
        entry = self._calendar(account, calendarId)
        events = list(account.events[entry["id"]].values())
        sync_token = request.arg("syncToken")
        if sync_token is not None:
            for forbidden in ("timeMin", "timeMax", "updatedMin", "orderBy", "q", "iCalUID", "privateExtendedProperty"):
                if forbidden in request.query:
                    raise _invalid(f"{forbidden} cannot be used with syncToken", location=forbidden)
            if not sync_token.isdigit() or int(sync_token) < self._sync_floor:
                raise _ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
            events = [e for e in events if int(e["etag"].strip('"')) > int(sync_token)]
        else:
            events = [e for e in events if self._event_matches(e, request)]
        order = request.arg("orderBy")
        if order == "startTime":
            if request.arg("singleEvents") != "true":
                raise _ApiError(400, "The requested ordering is not available for the particular query.", "badRequest")
            events.sort(key=lambda e: _event_time(e.get("start")) or datetime.min.replace(tzinfo=UTC))
        elif order == "updated":
            events.sort(key=lambda e: e["updated"])
        page, extra = self._page([copy.deepcopy(e) for e in events], request, 250)
        if "nextPageToken" not in extra:
            extra["nextSyncToken"] = str(self._revision)
        return json_response(
            {
                "kind": "calendar#events",
                "etag": f'"{self._revision}"',
                "summary": entry["summary"],
                "updated": _now(),
                "timeZone": entry["timeZone"],
                "accessRole": entry["accessRole"],
                "defaultReminders": entry["defaultReminders"],
                "items": page,
                **extra,
            }
        )

    @_calendar_method("calendar.events.watch")
    def _events_watch(self, account: _Account, request: Request, body: dict, calendarId: str) -> Response:
        calendar_id = self._calendar(account, calendarId)["id"]
        if body.get("type") != "web_hook" or not body.get("id") or not body.get("address"):
            raise _invalid("A channel needs an id, type 'web_hook' and an address.")
        if not body["address"].startswith(("https://", "http://127.0.0.1")):
            raise _ApiError(400, "WebHook callback must be HTTPS: " + body["address"], "push.webhookUrlNotHttps")
        if body["id"] in self.channels:
            raise _ApiError(400, f"Channel id {body['id']} not unique", "channelIdNotUnique")
        expiration = int((time.time() + self.channel_ttl) * 1000)
        if body.get("expiration"):
            expiration = min(expiration, int(body["expiration"]))
        channel = _Channel(body["id"], uuid.uuid4().hex, account.email, calendar_id, body["address"],
                           body.get("token"), expiration)
        self.channels[channel.id] = channel
        self._push(account.email, calendar_id, state="sync", only=channel)
        return json_response({"kind": "api#channel", "id": channel.id, "resourceId": channel.resource_id,
                              "resourceUri": f"{self.url}/calendar/v3/calendars/{calendar_id}/events",
                              "token": channel.token, "expiration": str(expiration)})

    @_calendar_method("calendar.channels.stop")
    def _channels_stop(self, account: _Account, request: Request, body: dict) -> Response:
        channel = self.channels.get(body.get("id") or "")
        if channel is None or channel.resource_id != body.get("resourceId") or channel.email != account.email:
            raise _ApiError(404, f"Channel '{body.get('id')}' not found for project", "notFound")
        del self.channels[channel.id]
        return Response(204)

    @_calendar_method("calendar.freebusy.query")
    def _freebusy_query(self, account: _Account, request: Request, body: dict) -> Response:
        time_min, time_max = (_parse_time(body.get(k) or "", strict=True) for k in ("timeMin", "timeMax"))
        if time_min is None or time_max is None:
            raise _ApiError(400, "Missing timeMin or timeMax.", "required")
        if time_max <= time_min:
            raise _ApiError(400, "The specified time range is empty.", "timeRangeEmpty", location="timeMax")
        if (time_max - time_min).days > FREEBUSY_MAX_DAYS:
            raise _ApiError(400, "The requested time range is too long.", "timeRangeTooLong", location="timeMax")
        items = body.get("items") or []
        if len(items) > 50:
            raise _ApiError(400, "Too many calendars requested.", "tooManyCalendarsRequested")
        calendars = {}
        for item in items:
            entry = account.calendars.get(account.email if item["id"] == "primary" else item["id"])
            if entry is None:
                calendars[item["id"]] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            spans = sorted(
                (max(start, time_min), min(end, time_max))
                for event in account.events[entry["id"]].values()
                if event["status"] != "cancelled" and event.get("transparency") != "transparent"
                for start, end in [(_event_time(event.get("start")), _event_time(event.get("end")))]
                if start and end and start < time_max and end > time_min
            )
            busy: list[list[datetime]] = []
            for start, end in spans:
                if busy and start <= busy[-1][1]:
                    busy[-1][1] = max(busy[-1][1], end)
                else:
                    busy.append([start, end])
            calendars[item["id"]] = {"busy": [{"start": _rfc3339(s), "end": _rfc3339(e)} for s, e in busy]}
        return json_response({"kind": "calendar#freeBusy", "timeMin": _rfc3339(time_min),
                              "timeMax": _rfc3339(time_max), "calendars": calendars})

    @staticmethod
    def _event_matches(event: dict, request: Request) -> bool:
        """The filters of ``events.list`` (recurring events are not expanded)."""
        if event["status"] == "cancelled" and request.arg("showDeleted") != "true":
            return False
        time_min, time_max, updated_min = (request.arg(n) for n in ("timeMin", "timeMax", "updatedMin"))
        end, start = _event_time(event.get("end")), _event_time(event.get("start"))
        if time_min and end and end <= _parse_time(time_min):
            return False
        if time_max and start and start >= _parse_time(time_max):
            return False
        if updated_min and _parse_time(event["updated"]) < _parse_time(updated_min):
            return False
        if request.arg("iCalUID") not in (None, event["iCalUID"]):
            return False
        if "eventTypes" in request.query and event["eventType"] not in request.query["eventTypes"]:
            return False
        text = request.arg("q")
        haystack = " ".join(str(event.get(k, "")) for k in ("summary", "description", "location")).lower()
        if text and text.lower() not in haystack:
            return False
        for param, section in (("privateExtendedProperty", "private"), ("sharedExtendedProperty", "shared")):
            props = event.get("extendedProperties", {}).get(section, {})
            for condition in request.query.get(param, []):
                key, sep, value = condition.partition("=")
                if not sep:
                    raise _invalid(f"Invalid {param} value: '{condition}' (expected name=value)")
                if props.get(key) != value:
                    return False
        return True
