"""Notion API calls through notion-client, with its errors mapped to stable codes."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core import call_with_token, ConnectorError, rate_limited, TokenRejected
from core import gettext as _

if TYPE_CHECKING:
    from notion_client import Client
    from notion_client.errors import APIResponseError

log = logging.getLogger(__name__)

DEFAULT_API_ROOT = "https://api.notion.com/"
#: The API version sent as ``Notion-Version`` (pinned: Notion changes shapes between versions).
NOTION_VERSION = "2025-09-03"


def call(ctx, operation: Callable[[Client], Any]) -> Any:
    """Run ``operation(client)`` as the context's user (one refresh when the token is refused)."""
    return call_with_token(ctx, lambda token: call_with(token, ctx.api_root, operation))


def call_with(access_token: str, api_root: str | None, operation: Callable[[Client], Any]) -> Any:
    """Run ``operation`` on a Notion client holding ``access_token``; errors become ConnectorError."""
    import httpx  # notion-client and httpx: imported by the first Notion call, not by every process start
    from notion_client import Client
    from notion_client.errors import APIResponseError, RequestTimeoutError

    notion = Client(auth=access_token, base_url=(api_root or DEFAULT_API_ROOT).rstrip("/"),
                    notion_version=NOTION_VERSION, retry=False, timeout_ms=15_000)
    try:
        return operation(notion)
    except APIResponseError as exc:
        raise as_connector_error(exc) from None
    except (RequestTimeoutError, httpx.HTTPError) as exc:
        log.warning("Notion could not be reached: %s", type(exc).__name__)
        raise ConnectorError(_("Notion could not be reached; try again.")) from None
    finally:
        notion.close()


def as_connector_error(exc: APIResponseError) -> ConnectorError:
    """Map a Notion API error (``{"object": "error", "status", "code", "message"}``) to a stable code."""
    code = getattr(exc.code, "value", exc.code)
    if exc.status == 401:
        return TokenRejected(_("Notion no longer accepts this connection; reconnect Notion."))
    if exc.status == 429:
        return rate_limited("Notion", exc.headers)
    if code == "object_not_found":
        return ConnectorError(_("Notion could not find that page; share it with the integration in Notion first."),
                              code="not_found")
    if code == "validation_error":
        return ConnectorError(_("Notion refused the request as invalid."), code="invalid_input")
    if code == "restricted_resource":
        return ConnectorError(_("The Notion integration is not allowed to do this in that workspace."))
    log.warning("Notion answered %s (%s)", exc.status, code)
    return ConnectorError(_("Notion answered with an error; try again later."))
