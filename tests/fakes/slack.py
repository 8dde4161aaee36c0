"""A fake Slack: OAuth v2 (with optional token rotation) and the Web API methods the connector uses.

Speaks Slack's wire format: API errors are HTTP 200 ``{"ok": false, "error": "..."}`` (429 +
``Retry-After`` for ``ratelimited``); arguments arrive as a query string, a form or JSON; the
token in ``Authorization: Bearer`` or a ``token`` argument.

Endpoints:
    GET  /oauth/v2/authorize        consent: redirects with ``code`` (PKCE S256 when a challenge is sent)
    POST /api/oauth.v2.access       code exchange and, with rotation, single-use refresh tokens
    GET|POST /api/auth.test | auth.revoke | conversations.list | chat.postMessage
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

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

__all__ = ["FakeSlack"]

TEAM = {"id": "T0FAKE01", "name": "Acme"}
BOT_USER = "U0BOT001"


@dataclass
class _Install:
    """One installation of the app in the workspace; its tokens are revoked together."""

    scopes: list[str]
    refresh_token: str | None = None
    revoked: bool = False
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expires at (0: never)


class SlackError(Exception):
    """Raised by a handler: answered as ``{"ok": false, "error": code}``."""

    def __init__(self, code: str, status: int = 200, **extra):
        super().__init__(code)
        self.code, self.status, self.extra = code, status, extra


class FakeSlack(OAuthProviderFake):
    """Fake Slack for one app (``client_id``/``client_secret``) installed in one workspace.

    Set ``rotation = True`` for token rotation (12-hour tokens and single-use refresh tokens).
    Read ``posted`` (messages posted), ``refresh_count`` and ``authorize_params``.
    """

    ENV_PREFIX = "SLACK"
    ENDPOINTS = {"AUTH_URI": "/oauth/v2/authorize", "TOKEN_URI": "/api/oauth.v2.access",
                 "REVOKE_URI": "/api/auth.revoke", "API_ROOT": "/api/"}

    def __init__(self, client_id: str = "slack-client", client_secret: str = "slack-secret"):
        super().__init__(client_id, client_secret)
        self.rotation = False
        self.posted: list[dict] = []
        self.authorize_params: list[dict[str, str]] = []
        self.channels = {
            "C0GENERAL": {"id": "C0GENERAL", "name": "general", "is_member": True, "is_archived": False,
                          "topic": {"value": "Company-wide"}, "num_members": 12},
            "C0RANDOM1": {"id": "C0RANDOM1", "name": "random", "is_member": False, "is_archived": False,
                          "topic": {"value": ""}, "num_members": 9},
            "C0OLDSTUF": {"id": "C0OLDSTUF", "name": "old-stuff", "is_member": True, "is_archived": True,
                          "topic": {"value": ""}, "num_members": 2},
        }
        self._codes: dict[str, dict] = {}
        self._installs: list[_Install] = []
        self._refresh_tokens: dict[str, _Install] = {}
        self._used_refresh_tokens: set[str] = set()

    # ----------------------------------------------------------------- test helpers

    def expire_tokens(self) -> None:
        """Make every rotating access token issued so far expired."""
        with self.lock:
            for install in self._installs:
                install.tokens = {t: (0.5 if exp else 0) for t, exp in install.tokens.items()}

    def uninstall(self) -> None:
        """Simulate a workspace admin removing the app: every token is revoked."""
        with self.lock:
            for install in self._installs:
                install.revoked = True

    def live_installs(self) -> int:
        """Installations whose tokens still work."""
        with self.lock:
            return sum(not i.revoked for i in self._installs)

    def error_response(self, status: int, message: str | None = None) -> Response:
        """Slack-shaped error (unknown method, injected fault)."""
        return json_response({"ok": False, "error": "ratelimited" if status == 429 else (message or "fatal_error")},
                             status)

    # ----------------------------------------------------------------- OAuth v2

    @route("GET", r"/oauth/v2/authorize")
    def authorize(self, request: Request) -> Response:
        """Consent page: validate, then redirect back with a code (or ``access_denied``)."""
        params = {k: v[0] for k, v in request.query.items()}
        self.authorize_params.append(params)
        if params.get("client_id") != self.client_id:
            return text_response("Invalid client_id parameter", 400)
        if not params.get("redirect_uri") or not params.get("scope"):
            return text_response("Missing redirect_uri or scope", 400)
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            return text_response("Unsupported code_challenge_method", 400)
        if self.consent_denied():
            return redirect(params["redirect_uri"], {"error": "access_denied", "state": params.get("state", "")})
        code = f"{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._codes[code] = params
        return redirect(params["redirect_uri"], {"code": code, "state": params.get("state", "")})

    @route("POST", r"/api/oauth\.v2\.access")
    def oauth_access(self, request: Request) -> Response:
        """Exchange a code, or (rotation) a single-use refresh token, for a bot token."""
        try:
            args = self._args(request)
            client_id, secret = self.client_credentials(request, args)
            if client_id != self.client_id:
                raise SlackError("invalid_client_id")
            if secret != self.client_secret:
                raise SlackError("bad_client_secret")
            grant_type = args.get("grant_type", "authorization_code")
            if grant_type == "refresh_token":
                return self._refresh(args.get("refresh_token", ""))
            if grant_type != "authorization_code":
                raise SlackError("invalid_grant_type")
            params = self._codes.pop(args.get("code", ""), None)
            if params is None:
                raise SlackError("invalid_code")
            if args.get("redirect_uri") != params["redirect_uri"]:
                raise SlackError("bad_redirect_uri")
            if params.get("code_challenge") and s256(args.get("code_verifier", "")) != params["code_challenge"]:
                raise SlackError("invalid_code_verifier")
            install = _Install(params["scope"].split(","))
            self._installs.append(install)
            return json_response(self._issue(install))
        except SlackError as error:
            return json_response({"ok": False, "error": error.code})

    def _refresh(self, refresh_token: str) -> Response:
        self.refresh_count += 1
        install = self._refresh_tokens.pop(refresh_token, None)
        if install is None:
            if refresh_token in self._used_refresh_tokens:  # reuse: the whole installation is compromised
                for other in self._installs:
                    other.revoked = True
            raise SlackError("invalid_refresh_token")
        self._used_refresh_tokens.add(refresh_token)
        if install.revoked:
            raise SlackError("invalid_refresh_token")
        return json_response(self._issue(install))

    def _issue(self, install: _Install) -> dict:
        body = {"ok": True, "token_type": "bot", "scope": ",".join(install.scopes), "bot_user_id": BOT_USER,
                "app_id": "A0FAKEAPP", "team": dict(TEAM), "enterprise": None, "is_enterprise_install": False,
                "authed_user": {"id": "U0HUMAN01"}}
        if self.rotation:
            token = "xoxe.xoxb-1-" + secrets.token_hex(16)
            install.refresh_token = "xoxe-1-" + secrets.token_hex(24)
            self._refresh_tokens[install.refresh_token] = install
            install.tokens[token] = time.time() + 43200
            body.update(access_token=token, refresh_token=install.refresh_token, expires_in=43200)
        else:
            token = "xoxb-" + secrets.token_hex(16)
            install.tokens[token] = 0
            body["access_token"] = token
        return body

    # ----------------------------------------------------------------- Web API

    @route("*", r"/api/(?P<method>[a-zA-Z.]+)")
    def web_api(self, request: Request, method: str) -> Response:
        """Authenticate the token, then run one Web API method."""
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        try:
            if handler is None:
                raise SlackError("unknown_method", 404)
            args = self._args(request)
            token = request.bearer() or args.get("token")
            if not token:
                raise SlackError("not_authed")
            install = next((i for i in self._installs if token in i.tokens), None)
            if install is None:
                raise SlackError("invalid_auth")
            if install.revoked:
                raise SlackError("token_revoked")
            expires = install.tokens[token]
            if expires and expires <= time.time():
                raise SlackError("token_expired")
            return json_response({"ok": True, **handler(install, token, args)})
        except SlackError as error:
            return json_response({"ok": False, "error": error.code, **error.extra}, error.status)

    @staticmethod
    def _args(request: Request) -> dict[str, str]:
        args = {k: v[0] for k, v in request.query.items()}
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            args.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (request.json() or {}).items()})
        elif request.body:
            args.update({k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()})
        return args

    @staticmethod
    def _need(install: _Install, scope: str) -> None:
        if scope not in install.scopes:
            raise SlackError("missing_scope", needed=scope, provided=",".join(install.scopes))

    def _auth_test(self, install, token, args) -> dict:
        return {"url": "https://acme.slack.com/", "team": TEAM["name"], "team_id": TEAM["id"], "user": "donna",
                "user_id": BOT_USER, "bot_id": "B0FAKEBOT"}

    def _auth_revoke(self, install, token, args) -> dict:
        install.revoked = True
        self._refresh_tokens.pop(install.refresh_token or "", None)
        return {"revoked": True}

    def _conversations_list(self, install, token, args) -> dict:
        self._need(install, "channels:read")
        limit = int(args.get("limit", "100"))
        if not 1 <= limit <= 1000:
            raise SlackError("invalid_limit")
        channels = [c for c in self.channels.values()
                    if not (args.get("exclude_archived") in ("true", "1") and c["is_archived"])]
        return {"channels": channels[:limit], "response_metadata": {"next_cursor": ""}}

    def _chat_postMessage(self, install, token, args) -> dict:
        self._need(install, "chat:write")
        name = args.get("channel", "").lstrip("#")
        channel = self.channels.get(name) or next((c for c in self.channels.values() if c["name"] == name), None)
        if channel is None:
            raise SlackError("channel_not_found")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        if not channel["is_member"]:
            raise SlackError("not_in_channel")
        if not args.get("text"):
            raise SlackError("no_text")
        ts = f"{time.time():.6f}"
        self.posted.append({"channel": channel["id"], "text": args["text"], "ts": ts})
        return {"channel": channel["id"], "ts": ts, "message": {"type": "message", "text": args["text"],
                                                                "user": BOT_USER, "ts": ts}}
