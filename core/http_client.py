"""Calling a provider's HTTP API as one user: the token, one refresh on rejection, stable errors.

Actions of requests- or SDK-based connectors wrap their calls in :func:`call_with_token`; the
call raises :class:`TokenRejected` when the provider refuses the access token, and core
refreshes it once (single-flight across workers, see :mod:`core.credentials`) and tries again.
:func:`request_json` is that call for plain JSON-over-HTTPS APIs, with the usual status codes
mapped to the stable error codes of :mod:`core.errors`. No message ever carries a token or a
provider's raw answer.

Config (API-key) connectors call :func:`request_json` with their key, wrap the calls of
``validate`` in :func:`trying_credentials` (failures become 422s). An action that raises
:class:`NeedsReauth` marks its connection ``needs_reauth`` (:func:`core.actions.run_action`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from core.errors import ConnectorError, ConnectorValidationError, NeedsReauth, RateLimited
from core.i18n import _

log = logging.getLogger(__name__)

TIMEOUT = 15


class TokenRejected(NeedsReauth):
    """The provider refused the access token (HTTP 401 or its equivalent)."""


def call_with_token(ctx, call: Callable[[str], Any]) -> Any:
    """Run ``call(access_token)`` for the action context ``ctx``; on :class:`TokenRejected`
    refresh the token once and retry.

    A token rejected again after the refresh raises :class:`TokenRejected` (a
    :class:`NeedsReauth`: :func:`core.actions.run_action` then marks the connection).
    """
    token = ctx.access_token()
    try:
        return call(token)
    except TokenRejected:
        token = ctx.access_token(rejected=token)
    return call(token)


def retry_after(headers: Mapping[str, str] | None) -> int | None:
    """The whole seconds of a ``Retry-After`` header (delta-seconds form), or None."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return max(0, int(float(value))) if value is not None else None
    except ValueError:
        return None


def rate_limited(provider: str, headers: Mapping[str, str] | None) -> RateLimited:
    """The :class:`RateLimited` error for ``provider``, with ``retry_after`` when it said so."""
    seconds = retry_after(headers)
    if seconds is None:
        return RateLimited(_("%(provider)s is rate limiting these requests; try again in a minute.", provider=provider),
                           retry_after=seconds)
    return RateLimited(_("%(provider)s is rate limiting these requests; try again in %(seconds)s seconds.",
                         provider=provider, seconds=seconds), retry_after=seconds)


def request_json(method: str, url: str, token: str | None = None, *, provider: str, params: dict | None = None,
                 json: Any = None, data: dict | None = None, auth: tuple[str, str] | None = None,
                 explain: Callable[[requests.Response], ConnectorError | None] | None = None,
                 timeout: float = TIMEOUT) -> Any:
    """Send one authenticated request and return the decoded JSON answer.

    ``token`` is sent as a Bearer token, or ``auth`` as HTTP Basic credentials (API-key
    connectors); ``json`` or ``data`` (form-encoded) is the body. A failed answer goes first to
    ``explain(response)``, which may return a more specific error from the provider's own
    error codes; otherwise 401 raises :class:`TokenRejected`; 429 ``rate_limited`` (with
    ``retry_after``); 404 ``not_found``; 400 and 422 ``invalid_input``; 403 and any other
    failure ``provider_error``. ``provider`` names the service in messages.
    """
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = requests.request(method, url, params=params, json=json, data=data, auth=auth,
                                    timeout=timeout, headers=headers)
    except requests.RequestException as exc:
        log.warning("%s could not be reached: %s", provider, type(exc).__name__)
        raise ConnectorError(_("%(provider)s could not be reached; try again.", provider=provider)) from None
    if response.status_code >= 400:
        raise (explain and explain(response)) or error_for_status(provider, response.status_code, response.headers)
    try:
        return response.json() if response.content else None
    except ValueError:
        raise ConnectorError(_("%(provider)s answered with something that is not JSON; try again later.",
                               provider=provider)) from None


def api_root(prefix: str, default: str) -> str:
    """``<PREFIX>_API_ROOT`` of the running app, or ``default``: for a config connector's
    ``validate``, which receives only the values (actions use ``ctx.env("API_ROOT")``)."""
    from flask import current_app

    return current_app.extensions["connectors.config"].provider(prefix, "API_ROOT", default)


@contextmanager
def trying_credentials(refused: str, field: str | None = None) -> Iterator[None]:
    """Run the calls with which a config connector's ``validate`` tries its credentials.

    A refusal of the credentials (:class:`NeedsReauth`) becomes a 422
    :class:`ConnectorValidationError` saying ``refused`` about ``field``; any other
    :class:`ConnectorError` (unreachable, rate limited…) a 422 with its own message and
    ``reason`` its code.
    """
    try:
        yield
    except ConnectorValidationError:
        raise
    except NeedsReauth:
        raise ConnectorValidationError(refused, field=field, reason="auth") from None
    except ConnectorError as exc:
        raise ConnectorValidationError(exc.message, **{"reason": exc.code, **exc.details}) from None


def error_for_status(provider: str, status: int, headers: Mapping[str, str] | None = None) -> ConnectorError:
    """Map a provider's HTTP error status to a stable, speakable :class:`ConnectorError`."""
    if status == 401:
        return TokenRejected(_("%(provider)s refused the access token; reconnect %(provider)s.", provider=provider))
    if status == 429:
        return rate_limited(provider, headers)
    if status == 404:
        return ConnectorError(_("%(provider)s could not find that item.", provider=provider), code="not_found")
    if status in (400, 422):
        return ConnectorError(_("%(provider)s refused the request as invalid.", provider=provider),
                              code="invalid_input")
    if status == 403:
        return ConnectorError(_("%(provider)s does not allow this for the connected account.", provider=provider))
    return ConnectorError(_("%(provider)s answered with an error (%(status)s); try again later.", provider=provider,
                             status=status))
