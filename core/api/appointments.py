"""Appointment routes: ``/api/v1/appointments`` — create, list, read, change, cancel (tenant-scoped)."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from core import appointments, availability, sync
from core.api.blueprint import Blueprint
from core.api.bounds import MAX_ID, BoundedDateTime
from core.auth import current_user
from core.spec import SYNC_STATUSES
from core.db import get_session
from core.models import User
from core.permissions import may_write_for
from core.platform import current_platform
from core.i18n import _

blp = Blueprint("appointments", __name__, url_prefix="/api/v1/appointments",
                description="The appointments that sync to each owner's chosen calendar.")


def sync_status_words(statuses) -> str:
    """The description of ``sync_status``, naming each of ``statuses``."""
    return "Where the appointment stands in its owner's synced calendar: " + ", ".join(statuses) + \
        " (null when nothing syncs it)"


def document_sync_statuses(api, connectors) -> None:
    """List in the OpenAPI document every ``sync_status`` value: the common ones and those the
    installed sync handlers declare (:attr:`core.SyncCapability.statuses`)."""
    statuses = dict.fromkeys(SYNC_STATUSES)
    for spec in connectors:
        if spec.sync is not None:
            statuses.update(dict.fromkeys(spec.sync.statuses))
    properties = api.spec.components.schemas["Appointment"]["properties"]
    properties["sync_status"] = {**properties["sync_status"], "description": sync_status_words(statuses)}


class AppointmentInputSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    starts_at = BoundedDateTime(required=True)
    ends_at = BoundedDateTime(required=True, metadata={"description": "After starts_at"})
    timezone = fields.String(load_default="UTC", validate=validate.Length(min=1, max=64),
                             metadata={"description": "IANA name, e.g. Europe/Paris"})
    location = fields.String(allow_none=True, validate=validate.Length(max=500))
    notes = fields.String(allow_none=True, validate=validate.Length(max=8000))
    status = fields.String(validate=validate.OneOf(appointments.STATUSES))
    allow_conflict = fields.Boolean(load_default=False, metadata={
        "description": "Book even when the owner is busy then (otherwise 409 conflict)"})


class AppointmentPatchSchema(AppointmentInputSchema):
    title = fields.String(validate=validate.Length(min=1, max=500))
    starts_at = BoundedDateTime()
    ends_at = BoundedDateTime()
    timezone = fields.String(validate=validate.Length(min=1, max=64))


class SyncChangeSchema(Schema):
    change = fields.String(metadata={"description": "moved or deleted"})
    starts_at = fields.DateTime(allow_none=True, metadata={"description": "Where the external calendar shows it now"})
    ends_at = fields.DateTime(allow_none=True)
    choose = fields.String(metadata={"description": "Where to POST {\"choice\": keep or restore}"})
    keep = fields.String(metadata={"description": "The choice that makes the appointment follow the change"})
    restore = fields.String(metadata={"description": "The choice that puts the appointment back in the calendar"})


class AppointmentSchema(Schema):
    id = fields.Integer()
    owner = fields.String(metadata={"description": "The owner's user id in your app (JWT sub)"})
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    timezone = fields.String()
    location = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "scheduled or cancelled"})
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    sync_status = fields.String(allow_none=True, metadata={"description": sync_status_words(SYNC_STATUSES)})
    external_event_id = fields.String(allow_none=True, metadata={"description": "The event id in the owner's calendar"})
    calendar_id = fields.String(allow_none=True)
    sync_error = fields.String(allow_none=True)
    synced_at = fields.DateTime(allow_none=True)
    sync_change = fields.Nested(SyncChangeSchema, allow_none=True, metadata={
        "description": "A move or deletion made in the external calendar, waiting for the owner's choice"})
    external_url = fields.String(allow_none=True, metadata={
        "description": "Where the owner opens the event in their calendar, when its connector offers one"})
    can_edit = fields.Boolean(metadata={"description": "Whether you may change it: you own it, or your token "
                                                       "has a role of APPOINTMENT_WRITE_ROLES"})


class ListArgsSchema(Schema):
    status = fields.String(validate=validate.OneOf(appointments.STATUSES))
    mine = fields.Boolean(load_default=False, metadata={"description": "Only appointments I own"})
    starts_from = BoundedDateTime()
    starts_before = BoundedDateTime()


def _present(rows) -> list[dict]:
    """Appointments as the API shows them, with their owner and their sync handler's fields."""
    if not rows:
        return []
    session = get_session()
    synced = sync.appointment_fields(current_platform(), session, rows)
    owners = dict(session.execute(select(User.id, User.external_id).where(
        User.id.in_({row.owner_user_id for row in rows}))).all())
    user = current_user()
    return [{**{k: getattr(row, k) for k in ("id", "version", "created_at", "updated_at", *appointments.EDITABLE)},
             "owner": owners.get(row.owner_user_id), **synced[row.id],
             "can_edit": may_write_for(user, row.owner_user_id)} for row in rows]


def _registry():
    return current_app.extensions["connectors.registry"]


def _one_or_404(appointment_id: int):
    appointment = appointments.get(get_session(), current_user().org_id, appointment_id)
    if appointment is None:
        abort(404, message=_("No appointment %(id)s in your organization.", id=appointment_id))
    return appointment


def _refuse_conflict(owner_user_id: int, starts_at, ends_at, moving=None) -> None:
    """Answer 409 ``conflict`` with the busy intervals (no details) when the owner is busy then."""
    busy = availability.conflicts(_registry(), get_session(), owner_user_id, starts_at, ends_at, moving)
    if busy:
        abort(409, message=_("The owner is busy at that time: pick a free slot (GET /api/v1/availability) "
                             "or send \"allow_conflict\": true."),
              errors={"reason": "conflict", "busy": [{"start": s.isoformat(), "end": e.isoformat()}
                                                     for s, e in busy]})


def _writable_or_403(appointment_id: int):
    """The appointment, if this user may change it (:func:`core.permissions.may_write_for`)."""
    appointment = _one_or_404(appointment_id)
    if not may_write_for(current_user(), appointment.owner_user_id):
        abort(403, message=_("Only the appointment's owner or an organization manager can change it."),
              errors={"reason": "forbidden"})
    return appointment


def _commit_or_422(change):
    """Run ``change()`` and commit; a domain validation error becomes a 422 naming the field."""
    session = get_session()
    try:
        result = change()
    except appointments.InvalidAppointment as exc:
        session.rollback()
        abort(422, message=exc.message, errors={"json": {exc.field: [exc.message]}})
    session.commit()
    return _present([result])[0]


#: OpenAPI links from an answer carrying an appointment to the operations on it (for clients and
#: for stateful testing: create, then read, change and cancel what was created).
ITEM_LINKS = {name: {"operationId": operation, "parameters": {"appointment_id": "$response.body#/id"}}
              for name, operation in (("GetAppointment", "getAppointment"), ("ChangeAppointment", "changeAppointment"),
                                      ("CancelAppointment", "cancelAppointment"))}


@blp.route("")
class Appointments(MethodView):
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, AppointmentSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Your organization's appointments by start time (filter by status, owner, start range)."""
        user = current_user()
        rows, total = appointments.search(
            get_session(), user.org_id, owner_user_id=user.id if args["mine"] else None,
            status=args.get("status"), starts_from=args.get("starts_from"),
            starts_before=args.get("starts_before"),
            offset=pagination_parameters.first_item, limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return _present(rows)

    @blp.arguments(AppointmentInputSchema)
    @blp.response(201, AppointmentSchema)
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(responses={"201": {"links": ITEM_LINKS}})
    def post(self, values):
        """Create an appointment owned by you; it syncs to your chosen calendar.

        Answers 409 ``conflict`` (with the busy intervals) when you are busy then, unless
        ``allow_conflict`` is true."""
        if not values.pop("allow_conflict") and values.get("status", "scheduled") == "scheduled":
            _refuse_conflict(current_user().id, values["starts_at"], values["ends_at"])
        return _commit_or_422(lambda: appointments.create(get_session(), _registry(), current_user(), values))


@blp.route(f"/<int(max={MAX_ID}):appointment_id>")
class AppointmentItem(MethodView):
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="getAppointment")
    def get(self, appointment_id):
        """One appointment, with its event id in your calendar and its sync status."""
        return _present([_one_or_404(appointment_id)])[0]

    @blp.arguments(AppointmentPatchSchema)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.doc(operationId="changeAppointment", responses={"200": {"links": ITEM_LINKS}})
    def patch(self, changes, appointment_id):
        """Move, edit, cancel (``status: cancelled``) or restore an appointment.

        Moving it (or restoring it) into a time its owner is busy answers 409 ``conflict``
        unless ``allow_conflict`` is true."""
        allow_conflict = changes.pop("allow_conflict")
        if not changes:
            abort(422, message=_("Nothing to change."), errors={"json": {"_schema": [_("Send at least one field.")]}})
        appointment = _writable_or_403(appointment_id)
        after = {k: changes.get(k, getattr(appointment, k)) for k in ("starts_at", "ends_at", "status")}
        moved = any(after[k] != getattr(appointment, k) for k in after)
        if not allow_conflict and moved and after["status"] == "scheduled":
            _refuse_conflict(appointment.owner_user_id, after["starts_at"], after["ends_at"], moving=appointment)
        return _commit_or_422(lambda: appointments.update(get_session(), _registry(), appointment, changes))

    @blp.response(200, AppointmentSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="cancelAppointment")
    def delete(self, appointment_id):
        """Cancel an appointment (it disappears from your calendar); the record is kept."""
        appointment = _writable_or_403(appointment_id)
        return _commit_or_422(lambda: appointments.cancel(get_session(), _registry(), appointment))
