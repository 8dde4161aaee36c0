"""One sync run per user at a time: a lease in Redis (worker mode) or in the database (in-process).

The Redis lease is short-lived and renewed by a background thread while its run works, so
a worker killed mid-job frees it within seconds. A run waiting for quota or backing off keeps
it "parked" (no renewal, expiring after the wait) so that nudges arriving meanwhile leave the
work to it; the same RQ job, retried, owns it again because the owner is the job id.

A job that finds the lease taken *knocks*: in the same script that refuses it, it marks the
lease, and the holder learns at release (again in one script) whether anyone knocked. Only
then must the run look for changes that came while it held the lease (:attr:`knocked`); a
change whose job comes after the release takes the lease itself.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from core import LockTimeout

TTL = 4.5
PREFIX = "connectors:google_calendar:lease:"

#: How long a knock on a lease is kept (it outlives any lease: a parked run takes it at its next release).
KNOCK_TTL_MS = 600_000
# KEYS: the lease, its knock. ARGV: the owner, the lease's time to live (ms), the knock's.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  redis.call('SET', KEYS[2], 1, 'PX', ARGV[3])
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# KEYS: the lease, its knock. ARGV: the owner, the new time to live (ms; 0 releases the lease
# and answers whether anyone knocked, forgetting the knock).
_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 1 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('DEL', KEYS[1])
return redis.call('DEL', KEYS[2])
"""


class Busy(Exception):
    """Another run holds this user's lease."""


class _RedisLease:
    def __init__(self, redis_client, name: str, owner: str):
        self.keys, self.owner = [PREFIX + name, PREFIX + name + ":knock"], owner
        self.acquire_script = redis_client.register_script(_ACQUIRE)
        self.extend_script = redis_client.register_script(_EXTEND)
        self.parked_for: float | None = None
        self.knocked = True  # until the release says otherwise
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, daemon=True, name=f"lease {name}")

    def _set(self, seconds: float) -> int:
        return self.extend_script(keys=self.keys, args=[self.owner, int(seconds * 1000)])

    def _renew(self) -> None:
        while not self._stop.wait(TTL / 3):
            try:
                self._set(TTL)
            except Exception:  # Redis restarting: keep trying, or the lease would lapse once it is back
                continue

    def __enter__(self):
        if not self.acquire_script(keys=self.keys, args=[self.owner, int(TTL * 1000), KNOCK_TTL_MS]):
            raise Busy(self.keys[0])
        self._renewer.start()
        return self

    def park(self, seconds: float) -> None:
        """Keep the lease for ``seconds`` (plus a margin) after the run ends, for its own retry."""
        self.parked_for = seconds

    def __exit__(self, *_exc):
        self._stop.set()
        self._renewer.join()
        try:
            if self.parked_for is not None:
                self._set(self.parked_for + TTL)
            else:
                self.knocked = bool(self._set(0))
        except Exception:  # Redis away: the lease lapses by itself within TTL (and knocked stays True)
            pass


class _NoPark:
    #: Whether a job may have found the lease taken meanwhile: a database lock cannot tell.
    knocked = True

    def park(self, seconds: float) -> None:
        """In-process, the database lock ends with the run; its retry takes it again when due."""


@contextmanager
def hold(platform, user_id: int, owner: str | None):
    """Hold user ``user_id``'s sync lease; raise :class:`Busy` when another run has it.

    ``owner`` is the RQ job id in worker mode; without one (in-process mode) the lease is a
    database lock.
    """
    if owner is not None and platform.redis is not None:
        with _RedisLease(platform.redis, f"user:{user_id}", owner) as lease:
            yield lease
        return
    lock = platform.lock(f"google_calendar:user:{user_id}", ttl=120, wait=0, in_database=True)
    try:
        lock.__enter__()
    except LockTimeout:
        raise Busy(user_id) from None
    try:
        yield _NoPark()
    finally:
        lock.__exit__(None, None, None)
