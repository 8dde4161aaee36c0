"""The authors' kit: pytest fixtures that test a connector plugin against the real platform.

Shipped in the package and loaded by pytest through the ``pytest11`` entry point ``connectors``
(nothing to import or configure). A plugin's tests get:

* ``platform`` — the whole platform served over HTTP on loopback, on a temporary SQLite database
  (``DATABASE_URL`` when set), with every installed plugin plus ``platform_plugins``;
* ``client`` — a ``requests.Session`` signed in as a user of an organization;
* ``connect(key, credentials=None)`` — connects ``key`` for that user: a config connector's
  form, or an OAuth connector's whole dance (redirect, consent, callback, code exchange);
* ``run_action(key, name, params=None)`` — runs an action over the REST route, returns its result
  (raises :class:`ActionFailed` with the error's ``status`` and ``reason``);
* ``oauth_provider`` — an OAuth 2.0 authorization server on loopback (RFC 6749 code grant, PKCE
  S256 as RFC 7636, refresh with optional rotation, RFC 7009 revocation, configurable token
  lifetime, ``deny_next()``), with an API of your own routes behind its Bearer tokens.

Override ``platform_environ`` (extra variables, e.g. ``oauth_provider.environ("ACME")``) and
``platform_plugins`` (``(name, module)`` pairs not installed as entry points) in a ``conftest.py``.
docs/plugins.md, *Testing with the kit*, shows a complete test.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

FRONTEND = "http://frontend.kit.test"
USER, ORG = "author", "kit-org"


class ActionFailed(AssertionError):
    """An action answered an error: ``status`` (HTTP), ``reason`` (the stable code), ``message``."""

    def __init__(self, status: int, body: dict):
        self.status, self.body = status, body
        self.reason = (body.get("errors") or {}).get("reason")
        self.message = body.get("message", "")
        super().__init__(f"{status} {self.reason}: {self.message}")


class ConnectFailed(AssertionError):
    """Connecting failed: ``error`` is the stable code (``access_denied``, ``invalid_credentials``…)."""

    def __init__(self, error: str, detail: object = None):
        self.error, self.detail = error, detail
        super().__init__(f"{error}: {detail}" if detail else error)


# ------------------------------------------------------------------------------- the platform
class KitPlatform:
    """The platform over real HTTP on loopback: ``url``, ``app``, ``api(path)``, ``browser(user, org)``."""

    def __init__(self, app, url: str):
        self.app, self.url = app, url
        self.config = app.extensions["connectors.config"]

    def api(self, path: str) -> str:
        """The absolute URL of ``path`` on this platform."""
        return self.url + path

    def browser(self, user: str = USER, org: str = ORG) -> requests.Session:
        """A cookie-keeping HTTP client signed in (Bearer session token) as ``user`` of ``org``."""
        from core.auth import mint_token

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {mint_token(self.config, user, org)}"
        return session

    def status(self, key: str, browser: requests.Session) -> dict:
        """``GET /api/v1/connectors/<key>`` for ``browser``'s user."""
        response = browser.get(self.api(f"/api/v1/connectors/{key}"), timeout=15)
        assert response.status_code == 200, response.text
        return response.json()

    def connect(self, key: str, credentials: dict | None = None, *, browser: requests.Session) -> dict:
        """Connect ``key`` for ``browser``'s user; return the connector's status afterwards.

        A config connector posts ``credentials`` to its form (validated for real by its
        ``validate``); an OAuth connector walks the dance a person's browser walks. Raises
        :class:`ConnectFailed` with the stable error code when it does not connect.
        """
        spec = self.app.extensions["connectors.registry"].connector(key)
        if spec is None:
            raise ConnectFailed("not_installed", f"no connector {key!r} is installed")
        if spec.kind == "config":
            response = browser.post(self.api(f"/api/v1/connectors/{key}/config"), json=credentials or {}, timeout=30)
            if response.status_code != 200:
                body = response.json()
                raise ConnectFailed((body.get("errors") or {}).get("reason", str(response.status_code)), body)
            return response.json()
        started = browser.get(self.api(f"/api/v1/connectors/{key}/redirect"), allow_redirects=False, timeout=15)
        if started.status_code != 302:
            raise ConnectFailed("not_started", started.text)
        consent = browser.get(started.headers["Location"], allow_redirects=False, timeout=15)
        if consent.status_code != 302:
            raise ConnectFailed("consent_failed", consent.text)
        back = browser.get(consent.headers["Location"], allow_redirects=False, timeout=30)
        front = {k: v[0] for k, v in parse_qs(urlparse(back.headers.get("Location", "")).query).items()}
        if front.get("status") != "success":
            raise ConnectFailed(front.get("error", "callback_failed"), front or back.text)
        return self.status(key, browser)

    def run_action(self, key: str, name: str, params: dict | None = None, *, browser: requests.Session):
        """Run action ``name`` of ``key`` as ``browser``'s user; its result, or :class:`ActionFailed`."""
        response = browser.post(self.api(f"/api/v1/connectors/{key}/actions/{name}"), json=params or {}, timeout=60)
        if response.status_code != 200:
            raise ActionFailed(response.status_code, response.json())
        return response.json()["result"]


def kit_environ(database_url: str, **extra) -> dict:
    """The environment of a test platform: a fresh encryption key, a session secret, ``extra``."""
    from core.crypto import generate_key

    return {"APP_ENV": "testing", "DATABASE_URL": database_url, "CONNECTORS_ENCRYPTION_KEYS": generate_key(),
            "JWT_SECRET": "kit-" + secrets.token_hex(24), "FRONTEND_URL": FRONTEND,
            "CONNECTORS_ALLOW_PRIVATE_HOSTS": "1", **extra}


@pytest.fixture
def platform_environ() -> dict:
    """Extra environment variables of the test platform (override it: provider ids, endpoints)."""
    return {}


@pytest.fixture
def platform_plugins() -> list:
    """``(name, module)`` plugins registered besides the installed entry points (override it)."""
    return []


@pytest.fixture
def platform(tmp_path, platform_environ, platform_plugins):
    """The platform over HTTP on loopback, on a temporary SQLite database (or ``DATABASE_URL``)."""
    from werkzeug.serving import make_server

    from core.app import create_app

    server = make_server("127.0.0.1", 0, None, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'platform.db'}"
    environ = kit_environ(database_url, BACKEND_URL=url, APP_BASE_URL=url, **platform_environ)
    app = create_app(environ, plugins=platform_plugins, instance_path=str(tmp_path / "instance"))
    app.extensions["connectors.db"].upgrade()
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield KitPlatform(app, url)
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["connectors.db"].engine.dispose()


@pytest.fixture
def client(platform) -> requests.Session:
    """An HTTP client signed in as the user ``author`` of the organization ``kit-org``."""
    return platform.browser()


@pytest.fixture
def connect(platform, client) -> Callable[..., dict]:
    """``connect(key, credentials=None)``: connect ``key`` for ``client``'s user (see :meth:`KitPlatform.connect`)."""
    return lambda key, credentials=None: platform.connect(key, credentials, browser=client)


@pytest.fixture
def run_action(platform, client) -> Callable:
    """``run_action(key, name, params=None)``: the action's result as ``client``'s user, or :class:`ActionFailed`."""
    return lambda key, name, params=None: platform.run_action(key, name, params, browser=client)


# ------------------------------------------------------------------------ the OAuth provider
@dataclass
class Grant:
    """What one consent granted: the account, the scopes, the current tokens."""

    account: str
    scopes: list[str]
    refresh_token: str | None = None
    revoked: bool = False


def s256(verifier: str) -> str:
    """RFC 7636's ``S256`` code challenge of ``verifier``: BASE64URL(SHA256(verifier)), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class IssuedTokens:
    """The tokens an authorization server issued, each pointing to its :class:`Grant`.

    ``access`` maps an access token to ``(grant, expires_at)``, ``refresh`` a refresh token to its
    grant (``grant.refresh_token`` is the current one). Not locked: its server holds the lock.
    :class:`OAuthProvider` keeps its tokens here; a fake provider of your own can too.
    """

    def __init__(self):
        self.access: dict[str, tuple[Grant, float]] = {}
        self.refresh: dict[str, Grant] = {}

    def issue_access(self, grant: Grant, lifetime: float, token: str | None = None) -> str:
        """A new access token for ``grant`` (``token``, or a random one), valid ``lifetime`` seconds."""
        token = token or secrets.token_urlsafe(24)
        self.access[token] = (grant, time.time() + lifetime)
        return token

    def issue_refresh(self, grant: Grant, token: str | None = None) -> str:
        """A new refresh token for ``grant`` (``token``, or a random one); the previous one stays valid
        unless :meth:`drop_refresh` drops it first."""
        grant.refresh_token = token or secrets.token_urlsafe(24)
        self.refresh[grant.refresh_token] = grant
        return grant.refresh_token

    def drop_refresh(self, grant: Grant) -> None:
        """``grant``'s refresh token stops working (rotation, or a provider's limit of live tokens)."""
        self.refresh.pop(grant.refresh_token or "", None)
        grant.refresh_token = None

    def bearer(self, token: str) -> Grant | None:
        """The grant of a live, unexpired access token, or None."""
        grant, expires = self.access.get(token, (None, 0.0))
        return None if grant is None or grant.revoked or expires <= time.time() else grant

    def holder(self, token: str) -> Grant | None:
        """The grant a refresh or access token (expired or not) belongs to, or None: what RFC 7009
        revocation looks up."""
        return self.refresh.get(token) or self.access.get(token, (None, 0.0))[0]

    def revoke(self, grant: Grant) -> None:
        """Revoke ``grant``: its refresh token and every access token it issued stop working."""
        grant.revoked = True
        self.drop_refresh(grant)
        self.access = {t: v for t, v in self.access.items() if v[0] is not grant}

    def expire(self) -> None:
        """Every access token issued so far expires now."""
        self.access = {token: (grant, 0.0) for token, (grant, _) in self.access.items()}


@dataclass
class ApiRequest:
    """A request to one of your API routes: its ``method``, ``path``, ``args``, ``json`` and ``grant``."""

    method: str
    path: str
    args: dict
    json: object
    grant: Grant


@dataclass
class OAuthProvider:
    """An OAuth 2.0 authorization server on loopback (see the module's docstring).

    ``environ(prefix)`` gives the variables that point connector ``prefix`` at it. Knobs:
    ``account`` (who consents), ``token_lifetime`` (seconds), ``rotate_refresh_tokens``,
    ``withhold_scopes`` (scopes the next consents leave unticked), ``deny_next()``,
    ``expire_tokens()``. ``requests`` lists ``(method, path)`` of every request received;
    ``route(method, path)`` adds an API route behind Bearer tokens.
    """

    client_id: str = "kit-client"
    client_secret: str = "kit-secret"
    account: str = "author@example.test"
    token_lifetime: int = 3600
    rotate_refresh_tokens: bool = False
    withhold_scopes: set = field(default_factory=set)
    requests: list = field(default_factory=list)
    url: str = ""

    def __post_init__(self):
        self._lock = threading.Lock()
        self._codes: dict[str, dict] = {}
        self._tokens = IssuedTokens()
        self._deny = 0
        self._routes: dict[tuple[str, str], Callable[[ApiRequest], tuple[int, object]]] = {
            ("GET", "/userinfo"): lambda r: (200, {"sub": r.grant.account, "email": r.grant.account,
                                                   "scope": " ".join(r.grant.scopes)})}
        self._server: ThreadingHTTPServer | None = None

    # -- what a test sets up
    def environ(self, prefix: str) -> dict:
        """``<prefix>_CLIENT_ID``, ``_CLIENT_SECRET``, ``_AUTH_URI``, ``_TOKEN_URI``, ``_REVOKE_URI``, ``_API_ROOT``."""
        return {f"{prefix}_CLIENT_ID": self.client_id, f"{prefix}_CLIENT_SECRET": self.client_secret,
                f"{prefix}_AUTH_URI": self.url + "/authorize", f"{prefix}_TOKEN_URI": self.url + "/token",
                f"{prefix}_REVOKE_URI": self.url + "/revoke", f"{prefix}_API_ROOT": self.url + "/api"}

    def deny_next(self) -> None:
        """The next consent is refused (``error=access_denied``)."""
        with self._lock:
            self._deny += 1

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (401): the next call must refresh."""
        with self._lock:
            self._tokens.expire()

    def route(self, method: str, path: str):
        """Decorator: ``handler(ApiRequest) -> (status, json)`` answers ``method`` ``/api<path>`` for a valid token."""
        def register(handler):
            self._routes[(method.upper(), path)] = handler
            return handler
        return register

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for _, seen in self.requests if seen == path)

    # -- the server
    def start(self) -> OAuthProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                provider._handle(self, "GET")

            def do_POST(self):
                provider._handle(self, "POST")

            def do_PUT(self):
                provider._handle(self, "PUT")

            def do_PATCH(self):
                provider._handle(self, "PATCH")

            def do_DELETE(self):
                provider._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((method, parsed.path))
        args = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if handler.headers.get("Content-Type", "").startswith("application/json"):
            body = json.loads(raw or b"null")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if method == "GET" and parsed.path == "/authorize":
            status, headers, payload = self._authorize(args)
        elif method == "POST" and parsed.path == "/token":
            status, headers, payload = self._token(body, handler.headers.get("Authorization"))
        elif method == "POST" and parsed.path == "/revoke":
            status, headers, payload = self._revoke(body)
        else:
            status, headers, payload = self._api(method, parsed.path, args, body, handler.headers.get("Authorization"))
        data = b"" if payload is None else json.dumps(payload).encode()
        handler.send_response(status)
        for name, value in {**headers, **({"Content-Type": "application/json"} if data else {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _authorize(self, args: dict):
        redirect = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id or not redirect:
            return 400, {}, {"error": "invalid_request"}
        with self._lock:
            denied, self._deny = self._deny > 0, max(0, self._deny - 1)
            if denied:
                query = {"error": "access_denied", "state": args.get("state", "")}
            else:
                code = secrets.token_urlsafe(24)
                requested = args.get("scope", "").split()
                self._codes[code] = {"redirect_uri": redirect, "challenge": args.get("code_challenge"),
                                     "method": args.get("code_challenge_method"), "account": self.account,
                                     "scopes": [s for s in requested if s not in self.withhold_scopes]}
                query = {"code": code, "state": args.get("state", "")}
        return 302, {"Location": redirect + ("&" if "?" in redirect else "?") + urlencode(query)}, None

    def _client_ok(self, body: dict, authorization: str | None) -> bool:
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        else:
            client_id, secret = body.get("client_id"), body.get("client_secret")
        return (client_id, secret) == (self.client_id, self.client_secret)

    def _token(self, body: dict, authorization: str | None):
        if not self._client_ok(body, authorization):
            return 401, {}, {"error": "invalid_client"}
        with self._lock:
            if body.get("grant_type") == "authorization_code":
                entry = self._codes.pop(body.get("code", ""), None)
                if entry is None or entry["redirect_uri"] != body.get("redirect_uri"):
                    return 400, {}, {"error": "invalid_grant"}
                if entry["challenge"]:
                    if entry["method"] != "S256" or s256(body.get("code_verifier") or "") != entry["challenge"]:
                        return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                grant = Grant(entry["account"], entry["scopes"])
            elif body.get("grant_type") == "refresh_token":
                grant = self._tokens.refresh.get(body.get("refresh_token", ""))
                if grant is None or grant.revoked:
                    return 400, {}, {"error": "invalid_grant"}
                if not self.rotate_refresh_tokens:
                    return 200, {}, self._issue(grant, new_refresh=False)
                self._tokens.drop_refresh(grant)
            else:
                return 400, {}, {"error": "unsupported_grant_type"}
            return 200, {}, self._issue(grant, new_refresh=True)

    def _issue(self, grant: Grant, new_refresh: bool) -> dict:
        access = self._tokens.issue_access(grant, self.token_lifetime)
        if new_refresh:
            self._tokens.issue_refresh(grant)
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime,
                  "scope": " ".join(grant.scopes)}
        if new_refresh:
            answer["refresh_token"] = grant.refresh_token
        return answer

    def _revoke(self, body: dict):
        token = body.get("token", "")
        with self._lock:
            grant = self._tokens.holder(token)
            if grant is not None:
                self._tokens.revoke(grant)
        return 200, {}, None  # RFC 7009 §2.2: 200 whether or not the token was known

    def _api(self, method: str, path: str, args: dict, body: object, authorization: str | None):
        route = self._routes.get((method, path.removeprefix("/api")))
        if route is None:
            return 404, {}, {"error": "not_found"}
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            grant = self._tokens.bearer(token)
        if grant is None:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {"error": "invalid_token"}
        status, payload = route(ApiRequest(method, path.removeprefix("/api"), args, body, grant))
        return status, {}, payload


@pytest.fixture
def oauth_provider():
    """An OAuth 2.0 authorization server on loopback (see :class:`OAuthProvider`)."""
    provider = OAuthProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
