"""``POST /api/v1/realtime/client-secret``: a short-lived OpenAI Realtime key for the browser.

The session (model, voice, Donna's instructions, this user's tools) is fixed here, server
side, with ``OPENAI_API_KEY``; the browser receives only the ephemeral ``value`` and its
``expires_at``. The route is rate-limited per user (``REALTIME_RATE_LIMIT``, a fixed window
counted in Redis when ``REDIS_URL`` is set) with the ``limits`` library, Flask-Limiter's engine,
called from the view: Flask-Limiter's ``init_app`` would add request hooks that every route of the
app pays (docs/performance.md).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from http import HTTPStatus

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core.api.tools import LOCALE_HELP, request_locale, tool_call
from core.i18n import _
from voice_tools.session import agent_setup, realtime_session

log = logging.getLogger(__name__)

blp = Blueprint("realtime", __name__, url_prefix="/api/v1/realtime",
                description="Short-lived OpenAI Realtime client secrets for the voice agent.")


class ClientSecretSchema(Schema):
    value = fields.String(metadata={"description": "The ephemeral key (ek_…) the browser connects with"})
    expires_at = fields.Integer(metadata={"description": "Unix time after which no new session can start"})


class ClientSecretArgsSchema(Schema):
    locale = fields.String(metadata={"description": LOCALE_HELP})


def openai_client(app):
    """The app's OpenAI client (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``), made on first use."""
    client = app.extensions.get("connectors.openai")
    if client is None:
        import openai  # ~0.4 s of imports: paid by the first voice session, not by every process start

        config = app.extensions["connectors.config"]
        client = openai.OpenAI(api_key=config.openai_api_key, base_url=config.openai_base_url,
                               timeout=15, max_retries=1)
        app.extensions["connectors.openai"] = client
    return client


@blp.route("/client-secret")
class ClientSecret(MethodView):
    @blp.arguments(ClientSecretArgsSchema(), required=False)
    @blp.response(200, ClientSecretSchema)
    @blp.alt_response(429, description="Too many secrets for this user; see Retry-After")
    @blp.alt_response(503, description="OPENAI_API_KEY is not set")
    def post(self, args):
        """Mint a Realtime client secret whose session carries this user's agent setup."""
        app = current_app._get_current_object()
        app.extensions["connectors.rate_limit"].check(_user_key())
        config = app.extensions["connectors.config"]
        if not config.openai_api_key:
            log.warning("Voice is off: set OPENAI_API_KEY to offer it")
            abort(503, message=_("Voice is not available yet: ask your administrator to turn it on."))
        setup = agent_setup(tool_call(), request_locale((args or {}).get("locale")))
        client = openai_client(app)
        import openai  # loaded by openai_client: its error classes
        try:
            secret = client.realtime.client_secrets.create(
                expires_after={"anchor": "created_at", "seconds": config.openai_realtime_secret_ttl},
                session=realtime_session(setup))
        except openai.APIStatusError as exc:
            log.warning("OpenAI refused a Realtime client secret: HTTP %s", exc.status_code)
            abort(502, message=_("The voice service refused to start a conversation. Try again later."))
        except openai.APIError as exc:
            log.warning("OpenAI could not be reached for a client secret: %s", type(exc).__name__)
            abort(502, message=_("The voice service could not be reached; try again in a moment."))
        return {"value": secret.value, "expires_at": secret.expires_at}


def _user_key() -> str:
    user = g.get("user")
    return f"user:{user.id}" if user else f"ip:{request.remote_addr}"


class RateLimit:
    """``rate`` (``10/minute``, or several: ``10/minute;100/day``) per key in fixed windows,
    counted in ``storage_uri`` (``memory://`` or Redis)."""

    def __init__(self, rate: str, storage_uri: str, prefix: str = "connectors"):
        self.rate, self.storage_uri, self.prefix = rate, storage_uri, prefix
        self._made = threading.Lock()
        self.items = self.limiter = None

    def _make(self) -> None:
        """The storage and rates, on the first check (``limits`` is not paid by every process start)."""
        from limits import parse_many
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        with self._made:
            if self.limiter is None:
                self.items = parse_many(self.rate)
                self.limiter = FixedWindowRateLimiter(storage_from_string(self.storage_uri))

    def check(self, key: str) -> None:
        """Count one hit for ``key``; past a rate, abort with 429 and ``Retry-After``."""
        if self.limiter is None:
            self._make()
        exceeded = next((item for item in self.items if not self.limiter.hit(item, self.prefix, key)), None)
        if exceeded is None:
            return
        reset = self.limiter.get_window_stats(exceeded, self.prefix, key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        status = HTTPStatus.TOO_MANY_REQUESTS
        abort(status.value, message=f"Too many voice sessions started; try again in {retry_after} seconds.",
              errors={"reason": "rate_limited", "retry_after": retry_after},
              headers={"Retry-After": str(retry_after)})


def init_app(app, api) -> None:
    """Mount the route, rate-limited per user."""
    config = app.extensions["connectors.config"]
    app.extensions["connectors.rate_limit"] = RateLimit(config.realtime_rate_limit, config.redis_url or "memory://")
    api.register_blueprint(blp)
