"""``POST /api/v1/realtime/client-secret``: a short-lived OpenAI Realtime key for the browser.

The session (model, voice, Donna's instructions, this user's tools) is fixed here, server
side, with ``OPENAI_API_KEY``; the browser receives only the ephemeral ``value`` and its
``expires_at``. The route is rate-limited per user with Flask-Limiter (Redis storage when
``REDIS_URL`` is set).
"""
from __future__ import annotations

import logging
import math
import time
from http import HTTPStatus

from flask import current_app, g, request
from flask.views import MethodView
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
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


def _too_many(error: RateLimitExceeded):
    limit = current_app.extensions["connectors.limiter"].current_limit
    retry_after = max(1, math.ceil(limit.window[0] - time.time())) if limit else 60
    status = HTTPStatus.TOO_MANY_REQUESTS
    payload = {"code": status.value, "status": status.phrase,
               "message": f"Too many voice sessions started; try again in {retry_after} seconds.",
               "errors": {"reason": "rate_limited", "retry_after": retry_after}}
    return payload, status.value, {"Retry-After": str(retry_after)}


def hooks_for_blueprint(app, name: str, install) -> None:
    """Run ``install(app)`` and move the request hooks it adds to the app to blueprint ``name``."""
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    existing = [list(registry.get(None, ())) for registry in registries]
    install(app)
    for registry, kept in zip(registries, existing, strict=True):
        added = [hook for hook in registry.get(None, ()) if hook not in kept]
        registry[None] = kept
        registry.setdefault(name, []).extend(added)


def init_app(app, api) -> None:
    """Mount the route and rate-limit it per user (call after the session check is installed)."""
    config = app.extensions["connectors.config"]
    limiter = Limiter(_user_key, storage_uri=config.redis_url or "memory://", key_prefix="connectors",
                      strategy="fixed-window")
    limiter.limit(config.realtime_rate_limit)(blp)
    # Only this blueprint is limited, so only its requests run the limiter's hooks (they cost
    # a bare route a third of its time: docs/performance.md).
    hooks_for_blueprint(app, blp.name, limiter.init_app)
    app.extensions["connectors.limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
    api.register_blueprint(blp)
