"""A sync-capable config connector with its own table and migration, built on the public ``core`` API.

``mirror`` keeps a copy of each of its user's appointments in ``mirror_entries`` (its own
table, created by its own Alembic branch): enough to watch core drive a sync capability.
"""
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from core import Appointment, ConfigField, ConnectorSpec, Model, QuotaSpec, SyncCapability, hookimpl


class MirrorEntry(Model):
    """One appointment as the mirror holds it."""

    __tablename__ = "mirror_entries"

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"),
                                                primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


def _copy(session, appointment) -> None:
    entry = session.get(MirrorEntry, appointment.id)
    if appointment.status == "cancelled":
        if entry is not None:
            session.delete(entry)
        return
    if entry is None:
        entry = MirrorEntry(appointment_id=appointment.id, user_id=appointment.owner_user_id)
        session.add(entry)
    entry.title, entry.version = appointment.title, appointment.version


def changed(platform, session, user_id, appointment_id, created):
    _copy(session, session.get(Appointment, appointment_id))


def start(platform, session, user_id):
    for appointment in session.scalars(select(Appointment).where(Appointment.owner_user_id == user_id)):
        _copy(session, appointment)


def stop(platform, session, user_id):
    session.execute(delete(MirrorEntry).where(MirrorEntry.user_id == user_id))


def reconcile(platform, session):
    return {"mirror_entries": session.scalar(select(func.count()).select_from(MirrorEntry))}


def details(platform, session, user_id):
    return {"pending_changes": 0}


def appointment_fields(platform, session, appointment_ids):
    rows = session.scalars(select(MirrorEntry).where(MirrorEntry.appointment_id.in_(appointment_ids)))
    return {row.appointment_id: {"sync_status": "synced", "external_event_id": f"mirror-{row.appointment_id}",
                                 "calendar_id": "mirror"} for row in rows}


CONNECTOR = ConnectorSpec(
    key="mirror", name="Mirror", kind="config", provider="mirror",
    fields=(ConfigField("label", "Label"),),
    validate=lambda values: values["label"],
    settings=(ConfigField("sync_enabled", "Sync appointments", type="boolean", required=False, default=True),),
    quotas=(QuotaSpec("calls", "MIRROR_QUOTA_PER_MIN", 120, per_user=True),),
    sync=SyncCapability(changed=changed, start=start, stop=stop, reconcile=reconcile, details=details,
                        appointment_fields=appointment_fields),
)


@hookimpl
def register_connectors():
    return [CONNECTOR]


@hookimpl
def register_migrations():
    return [Path(__file__).parent / "mirror_migrations"]
