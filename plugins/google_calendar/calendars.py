"""The user's calendars, read through the Calendar API with the user's own token."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import current_platform, current_user
from plugins import google

blp = Blueprint("google_calendar", __name__, description="Google Calendar connector routes.")


class CalendarSchema(Schema):
    id = fields.String()
    summary = fields.String()
    primary = fields.Boolean()
    access_role = fields.String()
    time_zone = fields.String(allow_none=True)


def calendar_api(api_root):
    """The shared Calendar v3 client for ``api_root`` (``GOOGLE_API_ROOT``)."""
    return google.service("calendar", "v3", api_root)


def primary_calendar_id(token: dict, api_root: str | None) -> str:
    """The account's email: the id of its primary calendar (needs no extra scope)."""
    request = calendar_api(api_root).calendarList().get(calendarId="primary")
    try:
        return request.execute(http=google.authorized_http(token["access_token"]))["id"]
    except google.HttpError as exc:
        raise google.as_connector_error(exc) from None


@blp.route("/calendars")
class Calendars(MethodView):
    @blp.response(200, CalendarSchema(many=True))
    def get(self):
        """The calendars of the connected Google account that the user may write to."""
        platform = current_platform()
        calendar_list = calendar_api(platform.api_root("google_calendar")).calendarList()
        result = google.execute(platform.credentials, current_user().id, "google_calendar",
                                lambda: calendar_list.list(minAccessRole="writer", maxResults=250))
        return [{"id": c["id"], "summary": c.get("summaryOverride") or c.get("summary", c["id"]),
                 "primary": bool(c.get("primary")), "access_role": c.get("accessRole"),
                 "time_zone": c.get("timeZone")} for c in result.get("items", [])]


def api_root() -> str | None:
    """The Calendar API root this app uses (``GOOGLE_API_ROOT``)."""
    return current_platform().api_root("google_calendar")
