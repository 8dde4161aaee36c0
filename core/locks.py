"""Named locks shared by every process: Redis when configured, a lease row in the database otherwise."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from core.models import Lock, utcnow


class LockTimeout(Exception):
    """The lock stayed taken longer than the caller was willing to wait."""


@contextmanager
def distributed_lock(db, redis_client, name: str, *, ttl: float = 30.0, wait: float = 30.0):
    """Hold the lock ``name`` across processes for at most ``ttl`` seconds.

    With Redis it is a ``redis-py`` lock; without, a row in ``locks`` whose insert succeeds
    for exactly one holder (an expired lease is taken over).
    """
    if redis_client is not None:
        lock = redis_client.lock(f"connectors:lock:{name}", timeout=ttl, blocking_timeout=wait)
        if not lock.acquire():
            raise LockTimeout(name)
        try:
            yield
        finally:
            try:
                lock.release()
            except Exception:  # expired while held: another holder may own it now
                pass
        return
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    delay = 0.01
    while not _try_lease(db, name, owner, ttl):
        if time.monotonic() > deadline:
            raise LockTimeout(name)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    try:
        yield
    finally:
        with db.session_scope() as session:
            session.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


def _try_lease(db, name: str, owner: str, ttl: float) -> bool:
    now = utcnow()
    with db.session_scope() as session:
        session.execute(delete(Lock).where(Lock.name == name, Lock.expires_at < now))
    try:
        with db.session_scope() as session:
            session.add(Lock(name=name, owner=owner, expires_at=now + timedelta(seconds=ttl)))
        return True
    except IntegrityError:
        return False
