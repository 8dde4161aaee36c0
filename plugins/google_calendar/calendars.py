"""The user's calendars, read through the Calendar API with the user's own token."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core import ConnectorError, current_platform, current_user, gettext as _
from plugins import google

#: ``access`` of ``GET …/calendars``: the calendarList ``minAccessRole`` it lists.
ACCESS = {"write": "writer", "busy": "freeBusyReader"}
#: At most this many calendars besides the sync target count as busy (one ``freebusy.query``).
MAX_BUSY_CALENDARS = 9

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


class CalendarArgsSchema(Schema):
    access = fields.String(load_default="write", validate=validate.OneOf(tuple(ACCESS)), metadata={
        "description": "write: calendars appointments can go to; busy: every calendar whose busy times you can see"})


def list_calendars(platform, user_id: int, access: str = "write") -> list[dict]:
    """The user's calendars with at least ``access`` (``write`` or ``busy``), from Google."""
    calendar_list = calendar_api(platform.api_root("google_calendar")).calendarList()
    result = google.execute(platform.credentials, user_id, "google_calendar",
                            lambda: calendar_list.list(minAccessRole=ACCESS[access], maxResults=250))
    return [{"id": c["id"], "summary": c.get("summaryOverride") or c.get("summary", c["id"]),
             "primary": bool(c.get("primary")), "access_role": c.get("accessRole"),
             "time_zone": c.get("timeZone")} for c in result.get("items", [])]


@blp.route("/calendars")
class Calendars(MethodView):
    @blp.arguments(CalendarArgsSchema, location="query")
    @blp.response(200, CalendarSchema(many=True))
    def get(self, args):
        """The calendars of the connected Google account that the user may write to (or, with
        ``access=busy``, whose busy times they can see)."""
        return list_calendars(current_platform(), current_user().id, args["access"])


def check_settings(platform, session, user_id: int, changes: dict) -> dict:
    """``busy_calendar_ids``: at most ``MAX_BUSY_CALENDARS``, each one of the user's calendars (asked to Google)."""
    ticked = changes.get("busy_calendar_ids")
    if not ticked:
        return {}
    if len(ticked) > MAX_BUSY_CALENDARS:
        return {"busy_calendar_ids": [_("Tick at most %(n)d calendars.", n=MAX_BUSY_CALENDARS)]}
    try:
        known = {c["id"] for c in list_calendars(platform, user_id, "busy")}
    except ConnectorError as exc:
        return {"busy_calendar_ids": [_("Your calendars could not be checked: %(error)s", error=exc.message)]}
    unknown = [calendar_id for calendar_id in ticked if calendar_id not in known]
    if unknown:
        return {"busy_calendar_ids": [_("Not one of your calendars: %(ids)s.", ids=", ".join(unknown))]}
    return {}


def api_root() -> str | None:
    """The Calendar API root this app uses (``GOOGLE_API_ROOT``)."""
    return current_platform().api_root("google_calendar")
