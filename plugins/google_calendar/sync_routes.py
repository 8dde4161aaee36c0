"""``POST /api/v1/connectors/google_calendar/sync-now``: bring this user's calendar in line now."""
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import current_platform, current_user, get_session
from core import gettext as _
from plugins.google_calendar import links, sync

blp = Blueprint("google_calendar_sync", __name__, description="Google Calendar sync routes.")


class SyncNowSchema(Schema):
    enqueued = fields.Boolean()
    stale_links = fields.Integer(metadata={"description": "Links behind their appointment when asked"})


@blp.route("/sync-now")
class SyncNow(MethodView):
    @blp.response(202, SyncNowSchema)
    def post(self):
        """Enqueue a full reconcile of your appointments with your chosen Google Calendar."""
        session = get_session()
        user = current_user()
        row = current_platform().require_usable(session, user.id, links.KEY)  # 409 not_connected / needs_reauth
        if not links.settings(row)["sync_enabled"]:
            abort(409, message=_("Sync is switched off: turn it on in the settings first."),
                  errors={"reason": "sync_disabled"})
        stale = sync.reconcile_user(session, user.id)
        session.commit()
        return {"enqueued": True, "stale_links": stale}
