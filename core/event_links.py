"""External calendar event links: the columns and queries a sync plugin's link table shares.

A connector that pushes appointments to a calendar (``SyncCapability``) keeps one row per
appointment per user: where the appointment's event lives in the external calendar and how far
it is synced. :class:`EventLink` is the declarative mixin for that table — the plugin declares
its table name, constraints, indexes and own columns (the event's id, an ETag…) and inherits
the rest, with the queries and record steps every such table needs.

A link is *stale* when it is ``pending``, or when its ``synced_version`` is behind the
appointment's ``version`` and it has not ``failed``. Staleness is re-read from the rows every
time, so a change that lands while a job runs is never mistaken for synced.
"""
from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, and_, func, insert, or_, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from core.models import Appointment, UTCDateTime, utcnow


#: Where the shared columns stand in the table, around the plugin's own (as the migrations made them).
_BEFORE, _AFTER = -10, 10


class EventLink:
    """Mixin of a plugin's link table: ``class MyLink(EventLink, Model)`` with ``__tablename__``,
    ``__table_args__`` and the plugin's own columns.

    Columns: ``id``, ``appointment_id``, ``user_id``, ``calendar_id`` (String(1024)),
    ``sync_status`` (String(:attr:`sync_status_length`), default ``pending``), ``synced_version``,
    ``attempts``, ``last_error``, ``synced_at``.
    """

    #: The length of ``sync_status``; a table whose migration made it wider says so here.
    sync_status_length = 16

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=_BEFORE)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False,
                                                sort_order=_BEFORE)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                         sort_order=_BEFORE)
    #: The calendar the event was written to (the user's setting at the time).
    calendar_id: Mapped[str | None] = mapped_column(String(1024), sort_order=_BEFORE)
    synced_version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, sort_order=_AFTER)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, sort_order=_AFTER)
    last_error: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, sort_order=_AFTER)

    @declared_attr
    def sync_status(cls) -> Mapped[str]:
        """``pending``, ``synced``, ``failed``, ``deleted`` or one of the connector's own statuses."""
        return mapped_column(String(cls.sync_status_length), nullable=False, default="pending", sort_order=_AFTER - 1)

    # -- conditions and queries -------------------------------------------------------------

    @classmethod
    def behind(cls):
        """The condition "the link's ``synced_version`` is behind its appointment's ``version``"."""
        return cls.synced_version < Appointment.version

    @classmethod
    def stale(cls):
        """The condition "the link is stale" (see the module); the query must join the appointment."""
        return and_(cls.sync_status != "failed", or_(cls.sync_status == "pending", cls.behind()))

    @classmethod
    def joined(cls, *columns):
        """``select(*columns)`` (by default the link and its appointment) from the link joined to its appointment."""
        return select(*(columns or (cls, Appointment))).select_from(cls).join(
            Appointment, Appointment.id == cls.appointment_id)

    @classmethod
    def rows(cls, session, *conditions, limit: int | None = None, lock: bool = False) -> list:
        """Up to ``limit`` ``(link, appointment)`` pairs meeting ``conditions``, oldest link first;
        with ``lock``, the links are locked for the transaction as :meth:`lock` does."""
        query = cls.joined().where(*conditions).order_by(cls.id).limit(limit)
        return session.execute(query.with_for_update(of=cls) if lock else query).all()

    @classmethod
    def lock(cls, session, link_ids) -> dict:
        """``{link id: (link, appointment)}`` for ``link_ids``, the links locked for this transaction."""
        rows = session.execute(cls.joined().where(cls.id.in_(link_ids)).with_for_update(of=cls)).all()
        return {link.id: (link, appointment) for link, appointment in rows}

    @classmethod
    def has_stale(cls, session, user_id: int) -> bool:
        """Whether ``user_id`` has any stale link."""
        return session.scalar(cls.joined(cls.id).where(cls.user_id == user_id, cls.stale()).limit(1)) is not None

    @classmethod
    def status_details(cls, session, user_id: int) -> dict:
        """``last_sync`` (when the user's calendar last received a change) and ``pending_changes``
        (how many appointments still wait), for the connector's status."""
        last, waiting = session.execute(
            select(func.max(cls.synced_at), func.count().filter(cls.sync_status == "pending"))
            .where(cls.user_id == user_id)).one()
        if last is not None and last.tzinfo is None:  # SQLite's MAX() loses the column type
            last = last.replace(tzinfo=UTC)
        return {"last_sync": last.isoformat() if last else None, "pending_changes": waiting}

    # -- marking links for the next run -------------------------------------------------------

    @classmethod
    def mark_changed(cls, session, appointment_id: int, user_id: int, new: bool = False) -> tuple[int, bool]:
        """Mark the appointment's link pending (creating it; a ``new`` appointment has none yet);
        return its id and whether it just became stale.

        A new link is one Core ``INSERT`` on the session's connection rather than an ORM flush:
        it is on the write path of every appointment created, and nothing in the transaction
        holds the link as an object."""
        link = None if new else session.scalars(select(cls).where(
            cls.appointment_id == appointment_id, cls.user_id == user_id)).first()
        if link is None:
            inserted = session.connection().execute(_insert_pending(cls.__table__),
                                                    {"appointment_id": appointment_id, "user_id": user_id})
            return inserted.inserted_primary_key[0], True
        was_stale = link.sync_status == "pending"
        link.sync_status, link.attempts = "pending", 0
        return link.id, not was_stale

    @classmethod
    def mark_calendar_switched(cls, session, user_id: int) -> int:
        """After the user picks another calendar, every link of theirs must be re-placed; return how many."""
        links = session.scalars(select(cls).where(cls.user_id == user_id)).all()
        for link in links:
            link.synced_version, link.sync_status, link.attempts = 0, "pending", 0
        return len(links)

    @classmethod
    def retry_failed(cls, session, user_id: int | None = None) -> int:
        """Give ``failed`` links that are behind another chance (all users when ``user_id`` is None);
        return how many."""
        query = cls.joined(cls).where(cls.sync_status == "failed", cls.behind())
        if user_id is not None:
            query = query.where(cls.user_id == user_id)
        links = session.scalars(query).all()
        for link in links:
            link.sync_status, link.attempts = "pending", 0
        return len(links)

    # -- recording what a run did to one link -------------------------------------------------

    def record_synced(self, appointment: Appointment, version: int, status: str = "synced") -> None:
        """The calendar now shows ``version`` of ``appointment``: the link takes ``status`` (``synced``
        or ``deleted``), or stays ``pending`` when the appointment has moved on since."""
        self.synced_version, self.attempts, self.last_error, self.synced_at = version, 0, None, utcnow()
        self.sync_status = status if appointment.version == version else "pending"

    def record_problem(self, message: str, *, failed: bool = False) -> int:
        """Keep the link pending (or ``failed``) with ``message`` for the API; return its attempts."""
        self.attempts += 1
        self.last_error = message
        if failed:
            self.sync_status = "failed"
        return self.attempts

    def record_retracted(self) -> None:
        """The event was removed because another connector is the target: the link is ``deleted``,
        in no calendar, and placed again when sync comes back (clear your own columns too)."""
        self.sync_status, self.synced_version, self.calendar_id = "deleted", 0, None
        self.attempts, self.last_error, self.synced_at = 0, None, utcnow()

    def sync_fields(self, external_event_id: str | None) -> dict:
        """The link's part of ``appointment_fields``: ``sync_status``, ``external_event_id``,
        ``calendar_id``, ``sync_error`` and ``synced_at``."""
        return {"sync_status": self.sync_status, "external_event_id": external_event_id,
                "calendar_id": self.calendar_id, "sync_error": self.last_error, "synced_at": self.synced_at}


@functools.cache
def _insert_pending(table):
    """A new appointment's link, pending: built once per table, executed with the ids as parameters."""
    return insert(table).values(sync_status="pending", synced_version=0, attempts=0)
