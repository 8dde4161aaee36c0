"""``GET /api/v1/connectors/caldav/calendars``: the connected CalDAV account's calendars."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import N_, NotConnected, current_platform, current_user, get_session
from plugins.caldav import client

KEY = "caldav"

blp = Blueprint("caldav", __name__, description="CalDAV connector routes.")


class CalDAVCalendarSchema(Schema):
    id = fields.String(metadata={"description": "The calendar's path on the server (the calendar_id setting)"})
    summary = fields.String(metadata={"description": "The calendar's display name"})


def user_account() -> client.Account:
    """The signed-in user's stored CalDAV account; :class:`core.NotConnected` when there is none."""
    values = current_platform().credentials.load_config(get_session(), current_user().id, KEY)
    if not values:
        raise NotConnected(N_("CalDAV is not connected."), connector=KEY)
    return client.Account.from_values(values)


@blp.route("/calendars")
class Calendars(MethodView):
    @blp.response(200, CalDAVCalendarSchema(many=True))
    def get(self):
        """The calendars of the connected CalDAV account (``id`` is the value of the ``calendar_id`` setting)."""
        return client.calendars(user_account())
