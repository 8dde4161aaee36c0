"""Provider quotas as token buckets shared by every worker: Redis when configured, in-process otherwise.

A quota of ``Q`` requests per sliding minute becomes a bucket holding at most ``Q/60`` tokens
(one second's worth) that refills at ``(Q - Q/60)/60`` tokens a second, so that no 60-second
window ever sees more than ``Q`` requests — not even one that starts with a full bucket.
Several buckets (a user's and the project's) are taken from atomically: a caller gets the same
number of tokens from each, or none and the time to wait.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from core import metrics

KEY_PREFIX = "connectors:quota:"

_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local granted, minimum = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens, wait, waiting_for = {}, 0, 0
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local level = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  level = math.min(capacity, level + math.max(0, now - at) * rate)
  tokens[i] = level
  granted = math.min(granted, math.floor(level))
  if level < minimum and (minimum - level) / rate > wait then
    wait, waiting_for = (minimum - level) / rate, i
  end
end
if granted < minimum then granted = 0 else wait, waiting_for = 0, 0 end
for i, key in ipairs(KEYS) do
  local rate, capacity = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call('HSET', key, 'tokens', tostring(tokens[i] - granted), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 1000)
end
return {granted, tostring(wait), waiting_for}
"""


@dataclass(frozen=True)
class Bucket:
    """One quota: a name (the Redis key suffix) and its requests per minute."""

    name: str
    per_minute: int

    @property
    def kind(self) -> str:
        """The name without a trailing user id (``<connector>:user``): what metrics label it by."""
        prefix, _, last = self.name.rpartition(":")
        return prefix if prefix and last.isdigit() else self.name

    @property
    def capacity(self) -> float:
        """Tokens held at most: one second of the quota (at least one)."""
        return max(1.0, self.per_minute / 60)

    @property
    def rate(self) -> float:
        """Tokens added per second, leaving room for a full bucket within any minute."""
        return max(self.per_minute - self.capacity, 1.0) / 60


@dataclass(frozen=True)
class Grant:
    """Tokens granted (possibly fewer than asked, or none) and, when none, seconds to wait
    and the bucket that makes the caller wait longest."""

    tokens: int
    wait: float
    waiting_for: Bucket | None = None


class Quota:
    """Takes tokens from several buckets at once, shared across processes through Redis."""

    def __init__(self, redis_client=None):
        self.redis = redis_client
        self._script = redis_client.register_script(_TAKE) if redis_client is not None else None
        self._local: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, buckets: list[Bucket], wanted: int, minimum: int = 1) -> Grant:
        """Take up to ``wanted`` tokens from every bucket (as many as the emptiest allows).

        Fewer than ``minimum`` (capped at the smallest capacity) is none, with the wait until
        ``minimum`` are there: callers that batch calls use it not to send crumbs.
        """
        minimum = max(1, min(minimum, wanted, *[math.floor(b.capacity) for b in buckets]))
        if self._script is not None:
            granted, wait, waiting_for = self._script(
                keys=[KEY_PREFIX + b.name for b in buckets],
                args=[wanted, minimum, *[v for b in buckets for v in (b.rate, b.capacity)]])
            grant = Grant(int(granted), float(wait), buckets[int(waiting_for) - 1] if int(waiting_for) else None)
        else:
            grant = self._take_locally(buckets, wanted, minimum)
        if not grant.tokens and grant.waiting_for is not None:
            metrics.quota_wait(grant.waiting_for.kind, grant.wait)
        return grant

    def _take_locally(self, buckets, wanted, minimum):
        with self._lock:
            now = time.monotonic()
            levels = []
            for bucket in buckets:
                level, at = self._local.get(bucket.name, (bucket.capacity, now))
                levels.append(min(bucket.capacity, level + (now - at) * bucket.rate))
            granted = min([wanted, *[math.floor(level) for level in levels]])
            granted = granted if granted >= minimum else 0
            waits = [((minimum - level) / b.rate, b) for level, b in zip(levels, buckets, strict=True)
                     if level < minimum]
            wait, waiting_for = max(waits, key=lambda pair: pair[0], default=(0.0, None))
            for bucket, level in zip(buckets, levels, strict=True):
                self._local[bucket.name] = (level - granted, now)
            return Grant(granted, 0.0, None) if granted else Grant(0, wait, waiting_for)
