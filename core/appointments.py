"""Appointments: create, change and cancel them, tenant-scoped, with a version bump per change.

Every change bumps ``version`` and emits ``appointment.created|updated|cancelled`` inside the
same transaction, so a plugin's ``handle_event`` can mark its own rows (e.g. a calendar link)
in that transaction and schedule work after commit.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from sqlalchemy import func, select

from core.events import DomainEvent, emit
from core.models import Appointment
from core.i18n import _

STATUSES = ("scheduled", "cancelled")
EDITABLE = ("title", "starts_at", "ends_at", "timezone", "location", "notes", "status")
MAX_DURATION = timedelta(days=31)


class InvalidAppointment(ValueError):
    """A change would leave the appointment invalid; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check(appointment: Appointment) -> None:
    """Refuse an appointment that ends before it starts, lasts too long or names an unknown zone."""
    if appointment.timezone not in zone_names():
        raise InvalidAppointment("timezone", _("“%(zone)s” is not a time zone; pick one such as Europe/Paris.",
                                               zone=appointment.timezone))
    if appointment.ends_at <= appointment.starts_at:
        raise InvalidAppointment("ends_at", _("The end must be after the start."))
    if appointment.ends_at - appointment.starts_at > MAX_DURATION:
        raise InvalidAppointment("ends_at", _("An appointment lasts at most 31 days."))
    if appointment.status not in STATUSES:
        raise InvalidAppointment("status", _("The status must be one of %(choices)s.", choices=", ".join(STATUSES)))


@functools.cache
def zone_names() -> frozenset[str]:
    """Every IANA time zone name this system knows, and UTC."""
    return frozenset(available_timezones()) | {"UTC"}


def create(session, registry, user, values: dict) -> Appointment:
    """Add an appointment owned by ``user`` and emit ``appointment.created``."""
    fields = {"timezone": "UTC", "status": "scheduled", **{k: v for k, v in values.items() if k in EDITABLE}}
    appointment = Appointment(org_id=user.org_id, owner_user_id=user.id, version=1, **fields)
    check(appointment)
    session.add(appointment)
    session.flush()
    _emit(session, registry, "appointment.created", appointment)
    return appointment


def update(session, registry, appointment: Appointment, changes: dict) -> Appointment:
    """Apply ``changes``; a real change bumps the version and emits ``updated`` (or ``cancelled``)."""
    changed = {k: v for k, v in changes.items() if k in EDITABLE and getattr(appointment, k) != v}
    if not changed:
        return appointment
    cancelling = changed.get("status") == "cancelled"
    for key, value in changed.items():
        setattr(appointment, key, value)
    check(appointment)
    appointment.version += 1
    session.flush()
    _emit(session, registry, "appointment.cancelled" if cancelling else "appointment.updated", appointment)
    return appointment


def cancel(session, registry, appointment: Appointment) -> Appointment:
    """Cancel the appointment (idempotent: cancelling a cancelled one changes nothing)."""
    return update(session, registry, appointment, {"status": "cancelled"})


def get(session, org_id: str, appointment_id: int) -> Appointment | None:
    """The appointment ``appointment_id`` if it belongs to ``org_id`` (another org's is None)."""
    appointment = session.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.org_id == org_id else None


def search(session, org_id: str, *, owner_user_id: int | None = None, status: str | None = None,
           starts_from: datetime | None = None, starts_before: datetime | None = None,
           offset: int = 0, limit: int = 50) -> tuple[list[Appointment], int]:
    """A page of ``org_id``'s appointments by start time, filtered, and the total count."""
    query = select(Appointment).where(Appointment.org_id == org_id)
    if owner_user_id is not None:
        query = query.where(Appointment.owner_user_id == owner_user_id)
    if status is not None:
        query = query.where(Appointment.status == status)
    if starts_from is not None:
        query = query.where(Appointment.starts_at >= starts_from)
    if starts_before is not None:
        query = query.where(Appointment.starts_at < starts_before)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Appointment.starts_at, Appointment.id).offset(offset).limit(limit)).all()
    return list(rows), total


def _emit(session, registry, name: str, appointment: Appointment) -> None:
    emit(registry, session, DomainEvent(name, appointment.owner_user_id, appointment.org_id,
                                           {"appointment_id": appointment.id, "version": appointment.version}))
