"""Calling a provider's HTTP API as one user: the token, one refresh on rejection, stable errors.

Actions of requests- or SDK-based connectors wrap their calls in :func:`call_with_token`; the
call raises :class:`TokenRejected` when the provider refuses the access token, and core
refreshes it once (single-flight across workers, see :mod:`core.credentials`) and tries again.
:func:`request_json` is that call for plain JSON-over-HTTPS APIs, with the usual status codes
mapped to the stable error codes of :mod:`core.errors`. No message ever carries a token or a
provider's raw answer.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests

from core.errors import ConnectorError, NeedsReauth, RateLimited

log = logging.getLogger(__name__)

TIMEOUT = 15


class TokenRejected(NeedsReauth):
    """The provider refused the access token (HTTP 401 or its equivalent)."""


def call_with_token(ctx, call: Callable[[str], Any]) -> Any:
    """Run ``call(access_token)`` for the action context ``ctx``; on :class:`TokenRejected`
    refresh the token once and retry.

    A token rejected again after the refresh marks the connection ``needs_reauth`` (the
    dashboard asks the user to reconnect) and raises :class:`TokenRejected`.
    """
    token = ctx.access_token()
    try:
        return call(token)
    except TokenRejected:
        token = ctx.access_token(rejected=token)
    try:
        return call(token)
    except TokenRejected as exc:
        ctx.credentials.mark_needs_reauth(ctx.user.id, ctx.spec.key, exc.message)
        raise


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
    when = f"in {seconds} seconds" if seconds is not None else "in a minute"
    return RateLimited(f"{provider} is rate limiting these requests; try again {when}.", retry_after=seconds)


def request_json(method: str, url: str, token: str, *, provider: str, params: dict | None = None,
                 json: Any = None, timeout: float = TIMEOUT) -> Any:
    """Send one authenticated JSON request and return the decoded answer.

    401 raises :class:`TokenRejected`; 429 ``rate_limited`` (with ``retry_after``); 404
    ``not_found``; 400 and 422 ``invalid_input``; 403 and any other failure
    ``provider_error``. ``provider`` names the service in messages.
    """
    try:
        response = requests.request(method, url, params=params, json=json, timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    except requests.RequestException as exc:
        log.warning("%s could not be reached: %s", provider, type(exc).__name__)
        raise ConnectorError(f"{provider} could not be reached; try again.") from None
    if response.status_code < 400:
        return response.json() if response.content else None
    raise error_for_status(provider, response.status_code, response.headers)


def error_for_status(provider: str, status: int, headers: Mapping[str, str] | None = None) -> ConnectorError:
    """Map a provider's HTTP error status to a stable, speakable :class:`ConnectorError`."""
    if status == 401:
        return TokenRejected(f"{provider} refused the access token; reconnect {provider}.")
    if status == 429:
        return rate_limited(provider, headers)
    if status == 404:
        return ConnectorError(f"{provider} could not find that item.", code="not_found")
    if status in (400, 422):
        return ConnectorError(f"{provider} refused the request as invalid.", code="invalid_input")
    if status == 403:
        return ConnectorError(f"{provider} does not allow this for the connected account.")
    return ConnectorError(f"{provider} answered with an error ({status}); try again later.")
