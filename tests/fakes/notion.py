"""A fake Notion: public-integration OAuth and the API endpoints the connector uses.

Speaks Notion's wire format: the token and revoke endpoints take HTTP Basic client
authentication and a JSON body (a form body is refused); API calls need ``Notion-Version``
and a bearer token; errors are ``{"object": "error", "status", "code", "message"}``.
Tokens carry no expiry; refresh tokens are issued unless ``issue_refresh_tokens`` is False
(Notion's historical behaviour).

Endpoints:
    GET  /v1/oauth/authorize   consent: redirects with ``code``
    POST /v1/oauth/token       authorization_code and refresh_token grants
    POST /v1/oauth/revoke      revokes a token
    GET  /v1/users/me          the integration's bot user
    POST /v1/search            title search over shared pages
    POST /v1/pages             create a page (parent: a shared page or the workspace)
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from .http import (
    OAuthProviderFake,
    Request,
    Response,
    json_response,
    redirect,
    route,
    text_response,
)

__all__ = ["FakeNotion"]

WORKSPACE = "Acme HQ"


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"object": "error", "status": status, "code": code, "message": message,
                          "request_id": str(uuid.uuid4())}, status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeNotion(OAuthProviderFake):
    """Fake Notion for one public integration, with a workspace of pages shared with it.

    Read ``created`` (pages made through the API), ``refresh_count``, ``revoked``.
    """

    ENV_PREFIX = "NOTION"
    ENDPOINTS = {"AUTH_URI": "/v1/oauth/authorize", "TOKEN_URI": "/v1/oauth/token",
                 "REVOKE_URI": "/v1/oauth/revoke", "API_ROOT": "/"}

    def __init__(self, client_id: str = "notion-client", client_secret: str = "notion-secret"):
        super().__init__(client_id, client_secret)
        self.issue_refresh_tokens = True
        self.revoked: list[str] = []
        self.created: list[dict] = []
        self.pages: dict[str, dict] = {}
        self._codes: dict[str, str] = {}
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        for title in ("Project Apollo", "Meeting notes", "Apollo budget"):
            self.add_page(title)

    # ----------------------------------------------------------------- test helpers

    def add_page(self, title: str, parent: dict | None = None) -> dict:
        """Share a page titled ``title`` with the integration; return it."""
        with self.lock:
            page_id = str(uuid.uuid4())
            page = {"object": "page", "id": page_id, "created_time": _now(), "last_edited_time": _now(),
                    "parent": parent or {"type": "workspace", "workspace": True}, "archived": False,
                    "url": f"https://www.notion.so/{title.replace(' ', '-')}-{page_id.replace('-', '')}",
                    "properties": {"title": {"id": "title", "type": "title", "title": [
                        {"type": "text", "text": {"content": title, "link": None}, "plain_text": title}]}}}
            self.pages[page_id] = page
            return page

    def invalidate_access_tokens(self) -> None:
        """Make every access token issued so far refused (as after Notion rotates them)."""
        with self.lock:
            self._access.clear()

    def error_response(self, status: int, message: str | None = None) -> Response:
        """Notion-shaped error (unknown path, injected fault)."""
        code = {400: "validation_error", 401: "unauthorized", 404: "object_not_found", 429: "rate_limited"}.get(
            status, "internal_server_error")
        return _error(status, code, message or code)

    # ----------------------------------------------------------------- OAuth

    @route("GET", r"/v1/oauth/authorize")
    def authorize(self, request: Request) -> Response:
        """Consent page: the user picks pages, then Notion redirects back with a code."""
        params = {k: v[0] for k, v in request.query.items()}
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return text_response("Invalid client_id or response_type", 400)
        if params.get("owner") != "user" or not params.get("redirect_uri"):
            return text_response("owner=user and redirect_uri are required", 400)
        if self.consent_denied():
            return redirect(params["redirect_uri"], {"error": "access_denied", "state": params.get("state", "")})
        code = secrets.token_hex(16)
        self._codes[code] = params["redirect_uri"]
        return redirect(params["redirect_uri"], {"code": code, "state": params.get("state", "")})

    def _client_body(self, request: Request) -> dict | Response:
        """Check Basic client auth and a JSON body; return the body or the error response."""
        if self.client_credentials(request, {}) != (self.client_id, self.client_secret):  # Basic only
            return json_response({"error": "invalid_client", "error_description": "Invalid client."}, 401)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return json_response({"error": "invalid_request", "error_description": "Body must be JSON."}, 400)
        try:
            return request.json() or {}
        except ValueError:
            return json_response({"error": "invalid_request", "error_description": "Invalid JSON."}, 400)

    @route("POST", r"/v1/oauth/token")
    def token(self, request: Request) -> Response:
        """Token endpoint: ``authorization_code`` and ``refresh_token`` grants."""
        body = self._client_body(request)
        if isinstance(body, Response):
            return body
        if body.get("grant_type") == "authorization_code":
            redirect_uri = self._codes.pop(body.get("code", ""), None)
            if redirect_uri is None or redirect_uri != body.get("redirect_uri"):
                return json_response({"error": "invalid_grant", "error_description": "Invalid code."}, 400)
        elif body.get("grant_type") == "refresh_token":
            self.refresh_count += 1
            if body.get("refresh_token") not in self._refresh:
                return json_response({"error": "invalid_grant", "error_description": "Invalid refresh token."}, 400)
            self._refresh.discard(body["refresh_token"])
        else:
            return json_response({"error": "unsupported_grant_type", "error_description": "Unsupported."}, 400)
        access = "ntn_" + secrets.token_hex(20)
        self._access.add(access)
        answer = {"access_token": access, "token_type": "bearer", "bot_id": str(uuid.uuid4()),
                  "workspace_name": WORKSPACE, "workspace_icon": None, "workspace_id": str(uuid.uuid4()),
                  "owner": {"type": "user", "user": {"object": "user", "id": str(uuid.uuid4()), "type": "person",
                                                     "person": {"email": "alice@example.com"}}},
                  "duplicated_template_id": None, "request_id": str(uuid.uuid4())}
        if self.issue_refresh_tokens:
            answer["refresh_token"] = "nrt_" + secrets.token_hex(20)
            self._refresh.add(answer["refresh_token"])
        return json_response(answer)

    @route("POST", r"/v1/oauth/revoke")
    def revoke(self, request: Request) -> Response:
        """Revoke an access or refresh token."""
        body = self._client_body(request)
        if isinstance(body, Response):
            return body
        token = body.get("token", "")
        if token not in self._access and token not in self._refresh:
            return _error(400, "validation_error", "Invalid token.")
        self._access.discard(token)
        self._refresh.discard(token)
        self.revoked.append(token)
        return json_response({"request_id": str(uuid.uuid4())})

    # ----------------------------------------------------------------- API

    def _authorized(self, request: Request) -> Response | None:
        if not request.headers.get("notion-version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        if request.bearer() not in self._access:
            return _error(401, "unauthorized", "API token is invalid.")
        return None

    @route("GET", r"/v1/users/me")
    def users_me(self, request: Request) -> Response:
        """The integration's bot user, with its workspace name."""
        return self._authorized(request) or json_response(
            {"object": "user", "id": "bot-1", "type": "bot", "name": "Cassius",
             "bot": {"owner": {"type": "user"}, "workspace_name": WORKSPACE}})

    @route("POST", r"/v1/search")
    def search(self, request: Request) -> Response:
        """Title search over shared pages, most recently edited first."""
        refused = self._authorized(request)
        if refused:
            return refused
        body = request.json() or {}
        size = body.get("page_size", 100)
        if not isinstance(size, int) or not 1 <= size <= 100:
            return _error(400, "validation_error", "body.page_size should be ≤ 100.")
        query = str(body.get("query", "")).lower()
        found = [p for p in reversed(self.pages.values())
                 if query in p["properties"]["title"]["title"][0]["plain_text"].lower()]
        return json_response({"object": "list", "results": found[:size], "next_cursor": None, "has_more": False,
                              "type": "page_or_data_source", "page_or_data_source": {}})

    @route("POST", r"/v1/pages")
    def create_page(self, request: Request) -> Response:
        """Create a page under a shared page or at the top level of the workspace."""
        refused = self._authorized(request)
        if refused:
            return refused
        body = request.json() or {}
        parent = body.get("parent") or {}
        if parent.get("type") == "page_id":
            if parent.get("page_id") not in self.pages:
                return _error(404, "object_not_found",
                              f"Could not find page with ID: {parent.get('page_id')}. Make sure the relevant pages "
                              "and databases are shared with your integration.")
        elif parent != {"type": "workspace", "workspace": True}:
            return _error(400, "validation_error", "body.parent should be a page_id or workspace parent.")
        try:
            title = "".join(t["text"]["content"] for t in body["properties"]["title"]["title"])
            texts = ["".join(t["text"]["content"] for t in block["paragraph"]["rich_text"])
                     for block in body.get("children", [])]
        except (KeyError, TypeError):
            return _error(400, "validation_error", "body.properties.title or body.children failed validation.")
        if any(len(t["text"]["content"]) > 2000 for block in body.get("children", [])
               for t in block["paragraph"]["rich_text"]):
            return _error(400, "validation_error", "Text content length should be ≤ 2000.")
        page = self.add_page(title, parent)
        self.created.append({"id": page["id"], "title": title, "parent": parent, "paragraphs": texts})
        return json_response(page)
