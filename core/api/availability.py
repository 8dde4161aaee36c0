"""``GET /api/v1/availability``: busy intervals (never event details) and free slots of one or more users."""
from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from core import availability
from core.api.bounds import BoundedDateTime
from core.appointments import zone_names
from core.auth import current_user
from core.db import get_session
from core.i18n import N_, _
from core.models import User
from core.permissions import may_write_for

blp = Blueprint("availability", __name__, url_prefix="/api/v1/availability",
                description="When people are busy, and the free slots between.")

MAX_RANGE = timedelta(days=31)
MAX_USERS = 20
_HOURS = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
                         error=N_("Working hours look like 09:00-18:00."))


class AvailabilityArgsSchema(Schema):
    from_ = BoundedDateTime(required=True, data_key="from")
    to = BoundedDateTime(required=True, metadata={
        "description": "After from, at most 31 days later; ISO 8601 with a UTC offset, in the years 1900 to 2999"})
    user = fields.String(load_default="me", validate=validate.Length(min=1, max=2000), metadata={
        "description": "me, or comma-separated user ids (JWT sub) of your organization"})
    duration = fields.Integer(load_default=30, validate=validate.Range(min=5, max=480),
                              metadata={"description": "Length of the free slots, in minutes"})
    timezone = fields.String(load_default="UTC", validate=validate.Length(min=1, max=64),
                             metadata={"description": "IANA zone of the working hours, e.g. Europe/Paris"})
    working_hours = fields.String(load_default="09:00-18:00", validate=_HOURS)
    weekends = fields.Boolean(load_default=False, metadata={"description": "Offer slots on Saturdays and Sundays"})

    @validates_schema
    def _check(self, data, **_kwargs):
        if data["to"] <= data["from_"]:
            raise ValidationError(_("“to” must be after “from”."), "to")
        if data["to"] - data["from_"] > MAX_RANGE:
            raise ValidationError(_("Ask for at most %(count)s days at a time.", count=MAX_RANGE.days), "to")
        if data["timezone"] not in zone_names():
            raise ValidationError(_("“%(zone)s” is not an IANA time zone name (e.g. Europe/Paris).",
                                    zone=data["timezone"]), "timezone")
        opens, closes = data["working_hours"].split("-")
        if closes <= opens:
            raise ValidationError(_("Working hours must close after they open."), "working_hours")
        if len(data["user"].split(",")) > MAX_USERS:
            raise ValidationError(_("Ask for at most %(count)s users at a time.", count=MAX_USERS), "user")


class IntervalSchema(Schema):
    start = fields.String(metadata={"description": "ISO 8601 instant"})
    end = fields.String(metadata={"description": "ISO 8601 instant"})


class NoticeSchema(Schema):
    source = fields.String(metadata={"description": "The connector that could not answer fully"})
    reason = fields.String(metadata={"description": "reconnect_required or unavailable"})
    message = fields.String()


class UserAvailabilitySchema(Schema):
    user = fields.String(metadata={"description": "The user's id in your app (JWT sub)"})
    busy = fields.List(fields.Nested(IntervalSchema))
    notices = fields.List(fields.Nested(NoticeSchema))


class AvailabilitySchema(Schema):
    from_ = fields.String(data_key="from", metadata={"description": "ISO 8601 instant"})
    to = fields.String(metadata={"description": "ISO 8601 instant"})
    duration = fields.Integer()
    timezone = fields.String()
    busy = fields.List(fields.Nested(IntervalSchema), metadata={"description": "When anyone asked for is busy"})
    free = fields.List(fields.Nested(IntervalSchema),
                       metadata={"description": "Slots of `duration` in working hours when everyone is free"})
    users = fields.List(fields.Nested(UserAvailabilitySchema))


def users_named(session, caller, names: str) -> list[tuple[int, str]]:
    """``(user id, sub)`` of each name in ``names`` (``me`` or subs of the caller's organization).

    Seeing another user's availability follows the rule of appointment writes
    (:func:`core.permissions.may_write_for`): yourself, or anyone of your organization when your
    token carries a role of ``APPOINTMENT_WRITE_ROLES``.
    """
    asked = list(dict.fromkeys(n.strip() for n in names.split(",") if n.strip()))
    others = [name for name in asked if name not in ("me", caller.external_id)]
    known = dict(session.execute(select(User.external_id, User.id).where(
        User.org_id == caller.org_id, User.external_id.in_(others))).all()) if others else {}  # one query
    found = []
    for name in asked:
        if name in ("me", caller.external_id):
            found.append((caller.id, caller.external_id))
            continue
        user_id = known.get(name)
        if user_id is None:
            abort(404, message=_("No user “%(name)s” in your organization.", name=name),
                  errors={"query": {"user": [name]}})
        if not may_write_for(caller, user_id):
            abort(403, message=_("Only your own availability, unless your role may book for others."),
                  errors={"query": {"user": [name]}, "reason": "forbidden"})
        found.append((user_id, name))
    return found


def _intervals(pairs) -> list[dict]:
    return [{"start": start.isoformat(), "end": end.isoformat()} for start, end in pairs]


@blp.route("")
class Availability(MethodView):
    @blp.arguments(AvailabilityArgsSchema, location="query")
    @blp.response(200, AvailabilitySchema)
    def get(self, args):
        """Busy intervals (calendar busy times and appointments, never event details) and free slots."""
        session, registry = get_session(), current_app.extensions["connectors.registry"]
        start, end = args["from_"], args["to"]
        found = users_named(session, current_user(), args["user"])
        people = []
        every_busy = []
        for user_id, sub in found:
            known = availability.busy_for(registry, session, user_id, start, end)
            every_busy.extend(known.busy)
            people.append({"user": sub, "busy": _intervals(known.busy), "notices": [
                {"source": n.source, "reason": n.notice, "message": n.message} for n in known.notices]})
        busy = availability.merge(every_busy)
        opens, closes = (time.fromisoformat(v) for v in args["working_hours"].split("-"))
        hours = availability.WorkingHours(ZoneInfo(args["timezone"]), opens, closes, args["weekends"])
        free = availability.free_slots(busy, start, end, timedelta(minutes=args["duration"]), hours)
        # Already plain JSON (ISO strings): sent as is, the schema above documents it. A week of
        # free slots is ~100 objects, and dumping them through marshmallow cost more than the rest.
        return current_app.json.response({
            "from": start.isoformat(), "to": end.isoformat(), "duration": args["duration"],
            "timezone": args["timezone"], "busy": _intervals(busy), "free": _intervals(free), "users": people})
