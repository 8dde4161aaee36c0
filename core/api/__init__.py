"""The HTTP API: flask-smorest setup, the one JSON error shape, and session enforcement."""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, current_app, request
from swagger_ui_bundle import swagger_ui_path
from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException

from core.api import guards
from core.api.openapi import ConnectorComponents
from core.auth import AuthError, authenticate, is_public, public
from core.db import get_session, missing_schema
from core.errors import ConnectorError, DatabaseNotMigrated
from core.i18n import N_, _, locale_without_database, translate_tree

log = logging.getLogger(__name__)

#: Swagger UI's files, served from the swagger-ui-bundle package (no CDN) under this URL.
SWAGGER_UI_URL = "/static/swagger-ui/"
SWAGGER_UI_ASSETS = Blueprint("swagger_ui", __name__, static_folder=swagger_ui_path,
                              static_url_path=SWAGGER_UI_URL.rstrip("/"))

def create_api(app) -> Api:
    """Attach flask-smorest to ``app``, with the JSON error handlers and the session check."""
    app.config.update(
        API_TITLE="Connector platform", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "session": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"session": []}]},
    )
    components = ConnectorComponents(app.extensions["connectors.registry"])  # each connector's bodies
    api = TranslatedApi(app, spec_kwargs={"extra_plugins": [components]})
    app.register_blueprint(SWAGGER_UI_ASSETS)
    for endpoint, view in list(app.view_functions.items()):  # the OpenAPI document and its viewer
        if endpoint.startswith("api-docs."):
            app.view_functions[endpoint] = public(_calling(view))
    app.before_request(_require_session)
    guards.install(app, api)
    app.register_error_handler(ConnectorError, _connector_error)
    app.register_error_handler(Exception, _unexpected_error)
    return api


def _calling(view):
    """A plain function calling ``view`` (flask-smorest's views are bound methods, which take no mark)."""
    @functools.wraps(view)
    def call(*args, **kwargs):
        return view(*args, **kwargs)
    return call


#: Words for errors raised without a message of their own (unknown path, wrong method, bad input).
DEFAULT_MESSAGES = {
    404: N_("There is nothing at this address."),
    405: N_("This address does not accept this method."),
    422: N_("Some fields are invalid."),
}


class TranslatedApi(Api):
    """flask-smorest's API whose error ``message`` and field errors speak the request's language.

    Messages are marked where they are raised; validation messages (marshmallow's own, listed in
    in ``core.i18n.VALIDATION_MESSAGES``) are translated here. ``code`` and ``errors.reason`` stay as they are.
    """

    def handle_http_exception(self, error):
        """flask-smorest's JSON error, its words translated."""
        payload, status, headers = super().handle_http_exception(error)
        message = payload.get("message") or DEFAULT_MESSAGES.get(status)
        if message:
            payload["message"] = _(message)
        if "errors" in payload:
            payload["errors"] = translate_tree(payload["errors"])
        return payload, status, headers


def _require_session():
    """Every ``/api/`` request needs a session unless its view is declared public (see
    :func:`core.auth.public`): decided on the view, never by the path."""
    if not request.path.startswith("/api/") or request.method == "OPTIONS":
        return None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is not None and is_public(view):
        return None
    try:
        authenticate(get_session)
    except AuthError as exc:
        abort(401, message=_(str(exc)), headers={"WWW-Authenticate": 'Bearer realm="connectors"'})
    return None


def _connector_error(error: ConnectorError):
    payload = {"code": error.http_status, "status": _reason(error.http_status), "message": _(error.message),
               "errors": _error_details(error)}
    headers = {}
    if error.details.get("retry_after"):
        headers["Retry-After"] = str(error.details["retry_after"])
    return payload, error.http_status, headers


def _error_details(error: ConnectorError) -> dict:
    """The stable ``reason`` first and always; a provider-specific reason becomes ``cause``."""
    details = {k: v for k, v in error.details.items() if v is not None}
    if "reason" in details:
        details["cause"] = details.pop("reason")
    return {**details, "reason": error.code}


#: Seconds a client should wait before retrying while the database or Redis is away.
RETRY_AFTER = 5


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return error
    if missing_schema(error) or _backing_service_away(error):
        locale_without_database()  # the user's saved language is in the database that just failed
    if missing_schema(error):
        log.warning("%s on %s %s: the database has no schema; answering 503", type(error).__name__,
                    request.method, request.path)
        payload, status, headers = _connector_error(DatabaseNotMigrated())
        return payload, status, {**headers, "Retry-After": str(RETRY_AFTER)}
    if _backing_service_away(error):
        log.warning("%s on %s %s: answering 503", type(error).__name__, request.method, request.path)
        payload = {"code": 503, "status": _reason(503), "errors": {"reason": "unavailable"},
                   "message": _("The service is briefly unavailable; try again in a few seconds.")}
        return payload, 503, {"Retry-After": str(RETRY_AFTER)}
    log.error("Unhandled %s on %s %s", type(error).__name__, request.method, request.path,
              exc_info=(type(error), error, error.__traceback__))
    payload = {"code": 500, "status": _reason(500),
               "message": _("Something went wrong on our side; the error was logged.")}
    return payload, 500


def _backing_service_away(error: Exception) -> bool:
    """The database or Redis could not be reached (restarting, failing over): worth a retry.

    Decided from the error alone: asking the database again here would wait on it a second time."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError,
                              RedisConnectionError, RedisTimeoutError))


def _reason(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase
