"""Availability: busy intervals (from plugins' ``busy_intervals`` hook and Cassius appointments) and free slots.

Core knows no provider: a connector that can read a user's busy times (a calendar
service's free/busy query, say) answers the ``busy_intervals`` hook with a :class:`BusyTimes`.
Only instants leave a plugin, never titles or attendees: private events stay private.
"""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from core.models import Appointment

#: Free slots start on these boundaries (minutes past the hour).
SLOT_STEP = timedelta(minutes=15)
#: At most this many free slots in one answer.
MAX_SLOTS = 200


@dataclass(frozen=True)
class BusyTimes:
    """What one plugin knows of a user's busy times between two instants.

    ``intervals`` are ``(start, end)`` pairs of timezone-aware datetimes. ``notice`` is a
    stable reason when the answer is incomplete (``reconnect_required``: the connection lacks
    the permission to read busy times; ``unavailable``: the provider could not be reached),
    with ``message`` saying what to do.
    """

    source: str
    intervals: tuple[tuple[datetime, datetime], ...] = ()
    notice: str | None = None
    message: str | None = None


class BusyCache:
    """A plugin's busy intervals per user, as JSON entries in Redis (for ``ttl`` seconds under
    ``prefix``) or, without Redis, in this process's memory.

    Redis being away makes every read a miss, never an error: bookings still go through. A
    plugin keeps one per app with ``platform.shared(name, lambda: BusyCache(platform.redis, …))``.
    """

    def __init__(self, redis_client, *, prefix: str, ttl: int):
        from redis.exceptions import RedisError

        self.redis, self.prefix, self.ttl = redis_client, prefix, ttl
        self._redis_error = RedisError
        self._memory: dict[int, str] = {}
        self._lock = threading.Lock()

    def get(self, user_id: int) -> dict | None:
        """The user's entry, or None."""
        if self.redis is None:
            raw = self._memory.get(user_id)
        else:
            try:
                raw = self.redis.get(self.prefix + str(user_id))
            except self._redis_error:
                return None
        return json.loads(raw) if raw else None

    def put(self, user_id: int, entry: dict) -> None:
        """Keep ``entry`` (JSON values) for the user."""
        raw = json.dumps(entry)
        if self.redis is None:
            with self._lock:
                self._memory[user_id] = raw
            return
        with contextlib.suppress(self._redis_error):
            self.redis.set(self.prefix + str(user_id), raw, ex=self.ttl)

    def forget(self, user_id: int) -> None:
        """Drop the user's entry: the next question asks the provider."""
        if self.redis is None:
            with self._lock:
                self._memory.pop(user_id, None)
            return
        with contextlib.suppress(self._redis_error):
            self.redis.delete(self.prefix + str(user_id))


@dataclass
class UserAvailability:
    """One user's merged busy intervals, and the notices of sources that could not answer fully."""

    user_id: int
    busy: list[tuple[datetime, datetime]]
    notices: list[BusyTimes] = field(default_factory=list)


def merge(intervals) -> list[tuple[datetime, datetime]]:
    """Sort ``intervals`` and join those that overlap or touch."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def overlapping(intervals, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The intervals that overlap ``[start, end)``."""
    return [(s, e) for s, e in intervals if s < end and e > start]


#: Built once: this runs on every availability question and every booking.
_APPOINTMENTS = select(Appointment.id, Appointment.starts_at, Appointment.ends_at).where(
    Appointment.owner_user_id == bindparam("user_id"), Appointment.status == "scheduled",
    Appointment.starts_at < bindparam("end"), Appointment.ends_at > bindparam("start"))


def appointment_intervals(session, user_id: int, start: datetime, end: datetime,
                          exclude_appointment: int | None = None) -> list[tuple[datetime, datetime]]:
    """The user's scheduled appointments overlapping ``[start, end)``, as intervals."""
    rows = session.execute(_APPOINTMENTS, {"user_id": user_id, "start": start, "end": end})
    return [(s, e) for appointment_id, s, e in rows if appointment_id != exclude_appointment]


def busy_for(registry, session, user_id: int, start: datetime, end: datetime,
             exclude: Appointment | None = None) -> UserAvailability:
    """Everything that makes ``user_id`` busy in ``[start, end)``: plugins' busy times and appointments.

    ``exclude`` is an appointment being moved: it does not conflict with itself, neither as an
    appointment nor as the calendar event synced from it (a provider interval exactly equal to
    its stored times).
    """
    own = appointment_intervals(session, user_id, start, end, exclude.id if exclude is not None else None)
    mine = (exclude.starts_at, exclude.ends_at) if exclude is not None else None
    intervals, notices = list(own), []
    for answer in registry.hook.busy_intervals(user_id=user_id, start=start, end=end, platform=registry.platform):
        if answer is None:
            continue
        intervals.extend((s, e) for s, e in answer.intervals if (s, e) != mine and s < end and e > start)
        if answer.notice:
            notices.append(answer)
    clipped = [(max(s, start), min(e, end)) for s, e in intervals]
    return UserAvailability(user_id, merge(clipped), notices)


def conflicts(registry, session, owner_user_id: int, starts_at: datetime, ends_at: datetime,
              moving: Appointment | None = None) -> list[tuple[datetime, datetime]]:
    """The busy intervals an appointment of ``owner_user_id`` at ``[starts_at, ends_at)`` would overlap.

    ``moving`` is the appointment being moved (it never conflicts with itself). An invalid
    range has no conflicts: the domain check refuses it.
    """
    if ends_at <= starts_at:
        return []
    return busy_for(registry, session, owner_user_id, starts_at, ends_at, exclude=moving).busy


def next_free(registry, session, owner_user_id: int, after: datetime, duration: timedelta, hours: WorkingHours,
              count: int = 3) -> list[tuple[datetime, datetime]]:
    """The first ``count`` free slots of ``duration`` in the week from ``after`` (to offer after a conflict)."""
    end = after + timedelta(days=7)
    known = busy_for(registry, session, owner_user_id, after, end)
    return free_slots(known.busy, after, end, duration, hours, limit=count)


@dataclass(frozen=True)
class WorkingHours:
    """The daily window in which free slots are offered, in one time zone."""

    zone: ZoneInfo
    opens: time = time(9)
    closes: time = time(18)
    weekends: bool = False

    def windows(self, start: datetime, end: datetime):
        """The working windows intersecting ``[start, end)``, in order, as aware UTC-comparable pairs."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.weekends or day.weekday() < 5:
                opens = datetime.combine(day, self.opens, self.zone)
                closes = datetime.combine(day, self.closes, self.zone)
                if opens < end and closes > start:
                    yield max(opens, start), min(closes, end)
            day += timedelta(days=1)


def free_slots(busy, start: datetime, end: datetime, duration: timedelta,
               hours: WorkingHours, limit: int = MAX_SLOTS) -> list[tuple[datetime, datetime]]:
    """Slots of ``duration`` within working hours that overlap no busy interval, on ``SLOT_STEP`` boundaries."""
    slots: list[tuple[datetime, datetime]] = []
    busy = merge(busy)
    for opens, closes in hours.windows(start, end):
        cursor = _ceil(opens, hours.zone)
        for busy_start, busy_end in overlapping(busy, opens, closes) + [(closes, closes)]:
            while cursor + duration <= min(busy_start, closes):
                slots.append((cursor, cursor + duration))
                if len(slots) >= limit:
                    return slots
                cursor += duration
            cursor = max(cursor, _ceil(busy_end, hours.zone))
    return slots


def _ceil(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` rounded up to the next ``SLOT_STEP`` boundary of its local hour."""
    local = instant.astimezone(zone)
    step = int(SLOT_STEP.total_seconds() // 60)
    past = timedelta(minutes=local.minute % step, seconds=local.second, microseconds=local.microsecond)
    return local if not past else local - past + SLOT_STEP
