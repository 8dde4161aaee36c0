"""What the Calendly connector does: name the account and list its upcoming scheduled events."""
from __future__ import annotations

from datetime import UTC, datetime

from core import call_with_token, ConnectorError, request_json
from core import gettext as _

DEFAULT_API_ROOT = "https://api.calendly.com/"
MAX_EVENTS = 100
STATUSES = ("active", "canceled")


def current_user(access_token: str, api_root: str | None) -> dict:
    """The token's user (``GET /users/me``): ``uri``, ``email``, ``name``, ``timezone``…"""
    return _get(access_token, api_root, "users/me")["resource"]


def account_email(token: dict, api_root: str | None) -> str:
    """The connected Calendly account's email."""
    return current_user(token["access_token"], api_root)["email"]


def list_scheduled_events(ctx, count: int | None = None, status: str | None = None) -> dict:
    """The user's upcoming scheduled events, soonest first: name, times, status, location."""
    count = 10 if count is None else count
    if not 1 <= count <= MAX_EVENTS:
        raise ConnectorError(_("“%(name)s” must be between 1 and %(max)s.", name="count", max=MAX_EVENTS),
                             code="invalid_input",
                             field="count")

    def fetch(token: str) -> dict:
        params = {"user": current_user(token, ctx.api_root)["uri"], "status": status or "active", "count": count,
                  "sort": "start_time:asc", "min_start_time": datetime.now(UTC).isoformat()}
        return _get(token, ctx.api_root, "scheduled_events", params)

    return {"events": [{"name": e.get("name"), "start_time": e.get("start_time"), "end_time": e.get("end_time"),
                        "status": e.get("status"), "location": _location(e.get("location") or {}), "uri": e.get("uri")}
                       for e in call_with_token(ctx, fetch).get("collection", [])]}


def _get(access_token: str, api_root: str | None, path: str, params: dict | None = None) -> dict:
    return request_json("GET", (api_root or DEFAULT_API_ROOT) + path, access_token, provider="Calendly",
                        params=params)


def _location(location: dict) -> str | None:
    """Where an event happens: an address, a join URL, or the kind of location."""
    return location.get("location") or location.get("join_url") or location.get("type")
