"""What the Notion connector does: name the workspace, search pages, create a page."""
from __future__ import annotations

from core import ConnectorError
from core import gettext as _
from plugins.notion import client

MAX_RESULTS = 50
#: Notion's limit on the text of one rich-text object.
MAX_TEXT_CHUNK = 2000


def workspace_name(token: dict, api_root: str | None) -> str:
    """The connected workspace's name, from the integration's bot user (``GET /v1/users/me``)."""
    me = client.call_with(token["access_token"], api_root, lambda notion: notion.users.me())
    return (me.get("bot") or {}).get("workspace_name") or me.get("name") or "Notion workspace"


def search(ctx, query: str, limit: int | None = None) -> dict:
    """Pages and databases shared with the integration whose title matches ``query``."""
    count = 10 if limit is None else limit
    if not 1 <= count <= MAX_RESULTS:
        raise ConnectorError(_("“%(name)s” must be between 1 and %(max)s.", name="limit", max=MAX_RESULTS),
                             code="invalid_input",
                             field="limit")
    found = client.call(ctx, lambda notion: notion.search(query=query, page_size=count))
    return {"results": [{"id": item["id"], "type": item["object"], "title": title_of(item), "url": item.get("url"),
                         "last_edited_time": item.get("last_edited_time")} for item in found.get("results", [])]}


def create_page(ctx, title: str, content: str | None = None, parent_page_id: str | None = None) -> dict:
    """Create a page titled ``title`` with ``content`` (paragraphs split on blank lines).

    It goes under ``parent_page_id`` when given (a page shared with the integration),
    otherwise at the top level of the user's workspace as a private page.
    """
    if not title.strip():
        raise ConnectorError(_("“title” must not be empty."), code="invalid_input", field="title")
    parent = {"type": "page_id", "page_id": parent_page_id} if parent_page_id else {"type": "workspace",
                                                                                     "workspace": True}
    page = client.call(ctx, lambda notion: notion.pages.create(
        parent=parent, properties={"title": {"title": _rich_text(title.strip())}},
        children=[_paragraph(p) for p in (content or "").split("\n\n") if p.strip()]))
    return {"id": page["id"], "url": page.get("url"), "title": title.strip()}


def title_of(item: dict) -> str:
    """The plain-text title of a Notion page, database or data source."""
    rich = item.get("title")
    if rich is None:
        rich = next((p.get("title", []) for p in item.get("properties", {}).values() if p.get("type") == "title"), [])
    return "".join(part.get("plain_text") or part.get("text", {}).get("content", "") for part in rich)


def _rich_text(text: str) -> list[dict]:
    return [{"type": "text", "text": {"content": text[i:i + MAX_TEXT_CHUNK]}}
            for i in range(0, len(text), MAX_TEXT_CHUNK)]


def _paragraph(text: str) -> dict:
    return {"object": "block", "type": "paragraph", "paragraph": {"rich_text": _rich_text(text.strip())}}
