"""Slack Web API calls through slack_sdk, with Slack's ``ok: false`` errors mapped to stable codes."""
from __future__ import annotations

import logging

from core import call_with_token, ConnectorError, NeedsReauth, rate_limited, TokenRejected
from core import gettext as _

log = logging.getLogger(__name__)

DEFAULT_API_ROOT = "https://slack.com/api/"
#: Errors meaning the token no longer works: refresh once, then ask the user to reconnect.
TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
INVALID_INPUT = {"no_text", "msg_too_long", "invalid_arguments", "invalid_limit", "invalid_cursor", "is_archived",
                 "invalid_blocks"}


def call(ctx, method: str, **arguments) -> dict:
    """Call Web API ``method`` (slack_sdk name, e.g. ``chat_postMessage``) as the context's user."""
    return call_with_token(ctx, lambda token: call_with(token, ctx.api_root, method, **arguments))


def call_with(access_token: str, api_root: str | None, method: str, **arguments) -> dict:
    """Call ``method`` with ``access_token``; Slack errors become :class:`ConnectorError`."""
    from slack_sdk import WebClient  # imported by the first Slack call, not by every process start
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=access_token, base_url=api_root or DEFAULT_API_ROOT, timeout=15, retry_handlers=[])
    try:
        return getattr(client, method)(**arguments).data
    except SlackApiError as exc:
        raise as_connector_error(exc) from None
    except OSError as exc:
        log.warning("Slack could not be reached: %s", type(exc).__name__)
        raise ConnectorError(_("Slack could not be reached; try again.")) from None


def as_connector_error(exc) -> ConnectorError:
    """Map a Slack API error (``slack_sdk.errors.SlackApiError``: ``{"ok": false, ...}``) to a stable code."""
    error = exc.response.get("error") or ""
    if exc.response.status_code == 429 or error == "ratelimited":
        return rate_limited("Slack", exc.response.headers)
    if error in TOKEN_ERRORS:
        return TokenRejected(_("Slack no longer accepts this connection; reconnect Slack."))
    if error == "missing_scope":
        return NeedsReauth(_("Slack needs a permission this connection lacks; reconnect Slack."))
    if error == "channel_not_found":
        return ConnectorError(_("There is no such Slack channel, or it is private."), code="not_found",
                              field="channel")
    if error == "not_in_channel":
        return ConnectorError(_("The app is not in that channel; invite it there first (/invite @app)."),
                              code="invalid_input", field="channel")
    if error in INVALID_INPUT:
        return ConnectorError(_("Slack refused the request (%(error)s).", error=error), code="invalid_input")
    log.warning("Slack answered %s", error or exc.response.status_code)
    return ConnectorError(_("Slack answered with an error; try again later."))
