"""Google push notifications (public, checked by channel token) and the user's choices about changes made in Google."""
from __future__ import annotations

import hmac

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from core import Appointment, InvalidAppointment, current_platform, current_user, dispatch, get_session
from core import gettext as _
from plugins.google_calendar import busy, busy_channels, changes
from plugins.google_calendar.models import CalendarEventLink
from plugins.google_calendar.channels import token_hash
from plugins.google_calendar.state import SyncState

blp = Blueprint("google_calendar_changes", __name__, description="Changes made in Google Calendar.")


class ChangeSchema(Schema):
    appointment_id = fields.Integer()
    change = fields.String(metadata={"description": "moved or deleted"})
    google_starts_at = fields.DateTime(allow_none=True, metadata={"description": "Where Google shows it now"})
    google_ends_at = fields.DateTime(allow_none=True)
    starts_at = fields.DateTime(metadata={"description": "Where the appointment is"})
    ends_at = fields.DateTime()
    detected_at = fields.DateTime()


class ChoiceSchema(Schema):
    class Meta:
        unknown = RAISE

    choice = fields.String(required=True, validate=validate.OneOf(changes.CHOICES), metadata={
        "description": "keep_google: the appointment follows Google; restore: Google shows the appointment again"})


@blp.route("/notifications")
class Notifications(MethodView):
    #: Google calls this without a session; the channel token authenticates each notification.
    public = True

    @blp.response(200)
    @blp.doc(security=[])
    def post(self):
        """Google push notification: a watched calendar changed (unknown or forged channels are ignored)."""
        channel_id = request.headers.get("X-Goog-Channel-ID", "")
        token = request.headers.get("X-Goog-Channel-Token", "")
        if not channel_id or len(channel_id) > 64 or len(token) > 256:
            return ""
        session = get_session()
        state = session.scalar(select(SyncState).where(SyncState.channel_id == channel_id))
        if state is None:  # a channel on a "count as busy" calendar: its busy times are read again
            watched = busy_channels.find(session, channel_id)
            if (watched is not None and hmac.compare_digest(watched.token_hash, token_hash(token))
                    and request.headers.get("X-Goog-Resource-ID") == watched.resource_id
                    and request.headers.get("X-Goog-Resource-State") != "sync"):
                busy.cache().forget(watched.user_id)
            return ""
        if (state is None or not hmac.compare_digest(state.channel_token_hash or "", token_hash(token))
                or request.headers.get("X-Goog-Resource-ID") != state.channel_resource_id):
            return ""
        user_id = state.user_id
        session.rollback()  # nothing held while the pull runs (in-process mode runs it right here)
        if request.headers.get("X-Goog-Resource-State") != "sync":
            busy.cache().forget(user_id)
            dispatch(changes.pull_changes, user_id, coalesce=changes.coalesce_key(user_id))
        return ""


@blp.route("/changes")
class Changes(MethodView):
    @blp.response(200, ChangeSchema(many=True))
    def get(self):
        """Your appointments moved or deleted in Google Calendar, waiting for your choice."""
        return changes.pending_changes(get_session(), current_user())


#: Ids beyond a 32-bit integer match no route (404), as the appointments routes do.
MAX_ID = 2**31 - 1


@blp.route(f"/changes/<int(max={MAX_ID}):appointment_id>")
class ChangeChoice(MethodView):
    @blp.arguments(ChoiceSchema)
    @blp.response(200, ChangeSchema(many=True))
    def post(self, body, appointment_id):
        """Keep Google's change (the appointment follows) or restore the appointment in Google."""
        session, user = get_session(), current_user()
        found = session.execute(select(CalendarEventLink, Appointment).join(
            Appointment, Appointment.id == CalendarEventLink.appointment_id).where(
            CalendarEventLink.appointment_id == appointment_id, CalendarEventLink.user_id == user.id)).first()
        if found is None or found[0].sync_status != changes.CHANGED:
            abort(404, message=_("Appointment %(id)s has no change from Google waiting for a choice.",
                                 id=appointment_id))
        try:
            changes.choose(session, current_platform().registry, *found, body["choice"])
        except (changes.CannotFollow, InvalidAppointment) as exc:
            session.rollback()
            abort(409, message=str(exc), errors={"reason": "cannot_follow"})
        session.commit()
        return changes.pending_changes(session, user)
