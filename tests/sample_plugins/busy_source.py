"""A test plugin answering ``busy_intervals`` from a dict, as a CalDAV or other calendar connector would."""
from datetime import datetime

from core import BusyTimes, hookimpl

#: ``{user_id: [(start, end), ...]}`` the tests fill in; ``notice`` makes every answer incomplete.
BUSY: dict[int, list[tuple[datetime, datetime]]] = {}
NOTICE: dict[str, str] = {}


@hookimpl
def busy_intervals(user_id, start, end):
    """The user's intervals of ``BUSY`` (None when the user has none)."""
    if user_id not in BUSY and not NOTICE:
        return None
    return BusyTimes("busy_source", tuple(BUSY.get(user_id, ())), NOTICE.get("notice"), NOTICE.get("message"))
