"""A small base for fake provider APIs served over real HTTP on 127.0.0.1.

A fake subclasses :class:`FakeServer` and declares its endpoints with :func:`route`::

    class FakeThing(FakeServer):
        @route("GET", r"/items/(?P<item_id>\\w+)")
        def get_item(self, request, item_id):
            return json_response({"id": item_id})

Handlers take a :class:`Request` and return a :class:`Response`; they run under
``self.lock`` (one request at a time), so fakes can keep plain dicts as state.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

__all__ = ["FakeServer", "Request", "Response", "json_response", "redirect", "route", "text_response"]


@dataclass
class Request:
    """One HTTP request as received by a fake (also the record kept in ``FakeServer.requests``).

    ``query`` maps each parameter to all its values; ``headers`` has lower-case names.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """Decode the body as JSON (``None`` for an empty body)."""
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        """Decode an ``application/x-www-form-urlencoded`` body (first value of each field)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def bearer(self) -> str | None:
        """Return the token of an ``Authorization: Bearer`` header, if any."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return (value.strip() or None) if scheme.lower() == "bearer" else None

    def basic(self) -> tuple[str, str] | None:
        """Return ``(user, password)`` from an ``Authorization: Basic`` header, if valid."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None


@dataclass
class Response:
    """What a route handler returns."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response."""
    return Response(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/json; charset=UTF-8", **(headers or {})},
    )


def text_response(text: str, status: int = 200) -> Response:
    """Build a ``text/plain`` response."""
    return Response(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def redirect(location: str, params: dict[str, str] | None = None, status: int = 302) -> Response:
    """Build a redirect to ``location``, with ``params`` appended to its query string."""
    if params:
        location += ("&" if "?" in location else "?") + urlencode(params)
    return Response(status, b"", {"Location": location})


def route(method: str, pattern: str) -> Callable[[Callable], Callable]:
    """Declare a method of a :class:`FakeServer` subclass as the handler of ``method`` + ``pattern``.

    ``method`` is an HTTP method, or ``"*"`` for any.
    ``pattern`` must match the whole path; its named groups are passed as keyword arguments.
    """

    def decorate(func: Callable) -> Callable:
        func.route = (method.upper(), re.compile(pattern))
        return func

    return decorate


@dataclass
class _Injection:
    status: int
    times: int
    path_contains: str | None
    body: Any
    headers: dict[str, str] | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it every response waits ~40 ms for a delayed ACK

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake.handle(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 128
    fake: FakeServer


class FakeServer:
    """A threaded HTTP server on ``127.0.0.1`` (random port) dispatching to :func:`route` methods.

    Attributes:
        requests: every HTTP request received, in order (:class:`Request` records).
        latency: seconds added before handling each request.
        lock: re-entrant lock held while a handler runs; hold it to read or change state.
        max_in_flight: the most requests the server was handling at once (received, not yet answered).
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._injections: list[_Injection] = []
        self._routes = {
            name: func.route
            for cls in reversed(type(self).__mro__)
            for name, func in vars(cls).items()
            if hasattr(func, "route")
        }
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Start serving in a daemon thread; return ``self``."""
        self._server = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one poll interval
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(
        self,
        status: int,
        times: int = 1,
        path_contains: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose path contains ``path_contains`` (any path if
        ``None``) with ``status`` instead of handling them.

        ``body`` may be bytes, a str or a JSON-serialisable object; by default it is
        :meth:`error_response`'s. Injections also apply to calls dispatched internally (e.g. the
        parts of a batch request).
        """
        with self.lock:
            self._injections.append(_Injection(status, times, path_contains, body, headers))

    def count(self, path_contains: str, method: str | None = None) -> int:
        """Number of recorded requests whose path contains ``path_contains`` (and with ``method``)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if path_contains in r.path and (method is None or r.method == method.upper())
            )

    def error_response(self, status: int, message: str | None = None) -> Response:
        """The response for an error: unknown route, injected fault, handler crash.

        Subclasses override it to produce their provider's error shape.
        """
        return json_response({"error": message or HTTPStatus(status).phrase}, status)

    def handle(self, request: Request) -> Response:
        """Record ``request``, wait ``latency``, then :meth:`dispatch` it under the lock."""
        with self.lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self._in_flight -= 1
            try:
                return self.dispatch(request)
            except Exception:  # noqa: BLE001 - a bug in the fake: show it to the test
                return self.error_response(500, traceback.format_exc())

    def dispatch(self, request: Request) -> Response:
        """Answer ``request`` with a pending injected fault or its route handler (lock held)."""
        for injection in self._injections:
            if injection.path_contains is None or injection.path_contains in request.path:
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                return self._injected_response(injection)
        for name, (method, pattern) in self._routes.items():
            match = pattern.fullmatch(request.path)
            if match and method in ("*", request.method):
                return getattr(self, name)(request, **match.groupdict())
        return self.error_response(404, f"No route for {request.method} {request.path}")

    def _injected_response(self, injection: _Injection) -> Response:
        if injection.body is None:
            response = self.error_response(injection.status)
        elif isinstance(injection.body, (bytes, str)):
            body = injection.body.encode() if isinstance(injection.body, str) else injection.body
            response = Response(injection.status, body)
        else:
            response = json_response(injection.body, injection.status)
        response.headers.update(injection.headers or {})
        return response


class OAuthProviderFake(FakeServer):
    """A fake provider with an OAuth consent screen: what the OAuth fakes share.

    Subclasses set ``ENV_PREFIX`` (``SLACK``…) and ``ENDPOINTS`` (``AUTH_URI``, ``TOKEN_URI``,
    ``REVOKE_URI``, ``API_ROOT`` → path on this server); their authorize route asks
    :meth:`consent_denied` first, their token endpoint reads :meth:`client_credentials` and counts
    the refresh grants it receives in ``refresh_count``.
    """

    ENV_PREFIX = ""
    ENDPOINTS: dict[str, str] = {}

    def __init__(self, client_id: str, client_secret: str, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_count = 0
        self._deny_next = False

    def env(self) -> dict[str, str]:
        """Environment pointing the platform at this fake (client credentials included)."""
        prefix = self.ENV_PREFIX
        return {f"{prefix}_CLIENT_ID": self.client_id, f"{prefix}_CLIENT_SECRET": self.client_secret,
                **{f"{prefix}_{name}": f"{self.url}{path}" for name, path in self.ENDPOINTS.items()}}

    def deny_next(self) -> None:
        """Make the next consent end with ``error=access_denied``."""
        with self.lock:
            self._deny_next = True

    @staticmethod
    def client_credentials(request: Request, form: dict) -> tuple[str | None, str | None]:
        """The client's id and secret as RFC 6749 §2.3.1 sends them: HTTP Basic (each part
        form-urlencoded), else ``client_id`` and ``client_secret`` in ``form``."""
        basic = request.basic()
        return tuple(map(unquote_plus, basic)) if basic else (form.get("client_id"), form.get("client_secret"))

    def consent_denied(self) -> bool:
        """Whether this consent is the one :meth:`deny_next` asked to deny (then forgotten)."""
        denied, self._deny_next = self._deny_next, False
        return denied
