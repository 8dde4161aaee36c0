"""A fake Calendly: OAuth with single-use refresh tokens, and the API v2 reads the connector uses.

Speaks Calendly's wire format: form-encoded token requests (client credentials in the body
or HTTP Basic), PKCE S256, errors ``{"title", "message", "details"?}``. A refresh token works
exactly once; presenting a used one is ``invalid_grant`` and revokes the whole grant, as a
provider defending against token replay does — so two workers refreshing at once kill the
connection unless the client serialises refreshes.

Endpoints:
    GET  /oauth/authorize            consent: redirects with ``code``
    POST /oauth/token                authorization_code and refresh_token grants
    POST /oauth/revoke               RFC 7009 revocation (client_id, client_secret, token)
    GET  /users/me                   the token's user
    GET  /scheduled_events           the user's events (user, status, count, sort, min_start_time)
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.testing import s256

from .http import (
    OAuthProviderFake,
    Request,
    Response,
    json_response,
    redirect,
    route,
    text_response,
)

__all__ = ["FakeCalendly"]

API = "https://api.calendly.com"


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _api_error(status: int, title: str, message: str, **extra) -> Response:
    return json_response({"title": title, "message": message, **extra}, status)


@dataclass
class _Grant:
    scopes: list[str]
    revoked: bool = False
    access: dict[str, float] = field(default_factory=dict)  # token -> expires at
    refresh: str | None = None


class FakeCalendly(OAuthProviderFake):
    """Fake Calendly with one user and a few scheduled events.

    ``access_token_ttl`` (seconds, default 7200) and ``refresh_latency`` (seconds a refresh
    takes, to widen race windows) may be set; ``refresh_count`` counts refresh grants.
    """

    ENV_PREFIX = "CALENDLY"
    ENDPOINTS = {"AUTH_URI": "/oauth/authorize", "TOKEN_URI": "/oauth/token",
                 "REVOKE_URI": "/oauth/revoke", "API_ROOT": "/"}

    def __init__(self, client_id: str = "calendly-client", client_secret: str = "calendly-secret"):
        super().__init__(client_id, client_secret)
        self.access_token_ttl = 7200
        self.refresh_latency = 0.0
        self.user = {"uri": f"{API}/users/AAAA1111", "name": "Alice Example", "email": "alice@example.com",
                     "timezone": "Europe/Paris", "current_organization": f"{API}/organizations/ORG1111",
                     "scheduling_url": "https://calendly.com/alice"}
        soon = datetime.now(UTC).replace(microsecond=0)
        self.events = [self._event("Intro call", soon + timedelta(days=2), {"type": "zoom",
                                                                             "join_url": "https://zoom.us/j/1"}),
                       self._event("Demo", soon + timedelta(days=1), {"type": "physical", "location": "HQ"}),
                       self._event("Old sync", soon - timedelta(days=3), {"type": "google_conference"}),
                       self._event("Dropped", soon + timedelta(days=4), {}, status="canceled")]
        self._codes: dict[str, dict] = {}
        self._grants: list[_Grant] = []
        self._used_refresh: dict[str, _Grant] = {}

    @staticmethod
    def _event(name: str, start: datetime, location: dict, status: str = "active") -> dict:
        def stamp(when: datetime) -> str:
            return when.isoformat().replace("+00:00", ".000000Z")

        return {"uri": f"{API}/scheduled_events/{uuid.uuid4()}", "name": name, "status": status,
                "start_time": stamp(start), "end_time": stamp(start + timedelta(minutes=30)),
                "event_type": f"{API}/event_types/ET1", "location": location,
                "invitees_counter": {"total": 1, "active": 1, "limit": 1},
                "event_memberships": [{"user": f"{API}/users/AAAA1111"}]}

    # ----------------------------------------------------------------- test helpers

    def live_refresh_tokens(self) -> list[str]:
        """The refresh tokens that would still work."""
        with self.lock:
            return [g.refresh for g in self._grants if g.refresh and not g.revoked]

    def is_valid(self, access_token: str) -> bool:
        """Whether the API would accept ``access_token`` now."""
        with self.lock:
            return self._grant_of(access_token) is not None

    def error_response(self, status: int, message: str | None = None) -> Response:
        """Calendly-shaped error (unknown path, injected fault)."""
        title = {401: "Unauthenticated", 404: "Resource Not Found", 429: "Too Many Requests"}.get(status, "Error")
        return _api_error(status, title, message or title)

    # ----------------------------------------------------------------- OAuth

    @route("GET", r"/oauth/authorize")
    def authorize(self, request: Request) -> Response:
        """Consent page: validate, then redirect back with a code (or ``access_denied``)."""
        params = {k: v[0] for k, v in request.query.items()}
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return text_response("invalid client_id or response_type", 400)
        if not params.get("redirect_uri") or params.get("code_challenge_method", "S256") != "S256":
            return text_response("invalid redirect_uri or code_challenge_method", 400)
        if self.consent_denied():
            return redirect(params["redirect_uri"], {"error": "access_denied", "state": params.get("state", "")})
        code = secrets.token_hex(32)
        self._codes[code] = params
        return redirect(params["redirect_uri"], {"code": code, "state": params.get("state", "")})

    def _client_ok(self, request: Request, form: dict) -> bool:
        return self.client_credentials(request, form) == (self.client_id, self.client_secret)

    @route("POST", r"/oauth/token")
    def token(self, request: Request) -> Response:
        """Token endpoint: ``authorization_code`` (PKCE) and single-use ``refresh_token`` grants."""
        form = request.form()
        if not self._client_ok(request, form):
            return _oauth_error("invalid_client", "Client authentication failed.", 401)
        if form.get("grant_type") == "authorization_code":
            params = self._codes.pop(form.get("code", ""), None)
            if params is None or form.get("redirect_uri") != params["redirect_uri"]:
                return _oauth_error("invalid_grant", "The provided authorization grant is invalid.")
            if params.get("code_challenge") and s256(form.get("code_verifier", "")) != params["code_challenge"]:
                return _oauth_error("invalid_grant", "The code verifier does not match.")
            grant = _Grant(params.get("scope", "default").split())
            self._grants.append(grant)
            return json_response(self._issue(grant))
        if form.get("grant_type") == "refresh_token":
            self.refresh_count += 1
            time.sleep(self.refresh_latency)
            token = form.get("refresh_token", "")
            grant = next((g for g in self._grants if g.refresh == token and not g.revoked), None)
            if grant is None:
                if token in self._used_refresh:  # replay: revoke that whole grant
                    self._used_refresh[token].revoked = True
                return _oauth_error("invalid_grant", "The provided authorization grant is invalid.")
            self._used_refresh[token] = grant
            return json_response(self._issue(grant))
        return _oauth_error("unsupported_grant_type", "The authorization grant type is not supported.")

    def _issue(self, grant: _Grant) -> dict:
        access = secrets.token_urlsafe(48)
        grant.access[access] = time.time() + self.access_token_ttl
        grant.refresh = secrets.token_urlsafe(32)
        return {"token_type": "Bearer", "access_token": access, "refresh_token": grant.refresh,
                "scope": " ".join(grant.scopes), "created_at": int(time.time()), "expires_in": self.access_token_ttl,
                "owner": self.user["uri"], "organization": self.user["current_organization"]}

    @route("POST", r"/oauth/revoke")
    def revoke(self, request: Request) -> Response:
        """RFC 7009 revocation: the grant of the token (access or refresh) is revoked."""
        form = request.form()
        if not self._client_ok(request, form):
            return _oauth_error("invalid_client", "Client authentication failed.", 401)
        token = form.get("token", "")
        for grant in self._grants:
            if token == grant.refresh or token in grant.access:
                grant.revoked = True
        return json_response({})

    # ----------------------------------------------------------------- API

    def _grant_of(self, access_token: str | None) -> _Grant | None:
        for grant in self._grants:
            if not grant.revoked and grant.access.get(access_token or "", 0) > time.time():
                return grant
        return None

    def _authorize_api(self, request: Request, scope: str) -> Response | None:
        grant = self._grant_of(request.bearer())
        if grant is None:
            return _api_error(401, "Unauthenticated", "The access token is invalid")
        if scope not in grant.scopes:
            return _api_error(403, "Permission Denied", f"This request requires the {scope} scope.")
        return None

    @route("GET", r"/users/me")
    def users_me(self, request: Request) -> Response:
        """The token's user."""
        return self._authorize_api(request, "users:read") or json_response({"resource": dict(self.user)})

    @route("GET", r"/scheduled_events")
    def scheduled_events(self, request: Request) -> Response:
        """The user's scheduled events, filtered and sorted like Calendly does."""
        refused = self._authorize_api(request, "scheduled_events:read")
        if refused:
            return refused
        details = []
        if request.arg("user") != self.user["uri"]:
            details.append({"parameter": "user", "message": "must be the URI of a user you can access"})
        count = request.arg("count", "20")
        if not count.isdigit() or not 1 <= int(count) <= 100:
            details.append({"parameter": "count", "message": "must be between 1 and 100"})
        if request.arg("status") not in (None, "active", "canceled"):
            details.append({"parameter": "status", "message": "must be active or canceled"})
        if request.arg("sort", "start_time:asc") not in ("start_time:asc", "start_time:desc"):
            details.append({"parameter": "sort", "message": "is invalid"})
        try:
            after = datetime.fromisoformat(request.arg("min_start_time", "1970-01-01T00:00:00+00:00"))
        except ValueError:
            details.append({"parameter": "min_start_time", "message": "must be an ISO 8601 time"})
        if details:
            return _api_error(400, "Invalid Argument", "The supplied parameters are invalid.", details=details)
        found = [e for e in self.events if datetime.fromisoformat(e["start_time"]) >= after
                 and e["status"] == request.arg("status", e["status"])]
        found.sort(key=lambda e: e["start_time"], reverse=request.arg("sort") == "start_time:desc")
        page = found[:int(count)]
        return json_response({"collection": page, "pagination": {"count": len(page), "next_page": None,
                                                                 "previous_page": None, "next_page_token": None}})
