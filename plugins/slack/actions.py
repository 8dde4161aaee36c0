"""What the Slack connector does: name the workspace, list public channels, post a message."""
from __future__ import annotations

from core import ConnectorError
from core import gettext as _
from plugins.slack import client

MAX_CHANNELS = 200
MAX_TEXT = 40_000


def workspace_name(token: dict, api_root: str | None) -> str:
    """The connected workspace's name, from ``auth.test`` (needs no scope)."""
    return client.call_with(token["access_token"], api_root, "auth_test")["team"]


def list_channels(ctx, limit: int | None = None) -> dict:
    """The workspace's public, unarchived channels: ``{id, name, is_member, topic, members}``."""
    count = 100 if limit is None else limit
    if not 1 <= count <= MAX_CHANNELS:
        raise ConnectorError(_("“%(name)s” must be between 1 and %(max)s.", name="limit", max=MAX_CHANNELS),
                             code="invalid_input",
                             field="limit")
    data = client.call(ctx, "conversations_list", types="public_channel", exclude_archived=True, limit=count)
    return {"channels": [{"id": c["id"], "name": c["name"], "is_member": bool(c.get("is_member")),
                          "topic": (c.get("topic") or {}).get("value", ""), "members": c.get("num_members")}
                         for c in data.get("channels", [])]}


def post_message(ctx, channel: str, text: str) -> dict:
    """Post ``text`` as the app's bot in ``channel`` (an id like C0123, or a name like #general)."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise ConnectorError(_("“text” must be 1 to %(max)s characters.", max=MAX_TEXT),
                             code="invalid_input",
                             field="text")
    data = client.call(ctx, "chat_postMessage", channel=channel.strip(), text=text)
    return {"posted": True, "channel": data["channel"], "ts": data["ts"]}
