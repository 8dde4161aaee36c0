"""The shared quota buckets (Redis and in-process) and the deterministic event ids."""
from __future__ import annotations

import re

import pytest
import redis

from core.quota import Bucket, Quota
from plugins.google_calendar.mapping import event_id


@pytest.fixture(params=["redis", "local"])
def make_quota(request):
    """A Quota factory: every call shares one Redis (like several workers) or is its own process."""
    if request.param == "local":
        shared = Quota()
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    return lambda: Quota(redis.Redis.from_url(url))


def test_bucket_never_allows_more_than_the_quota_in_a_minute():
    for per_minute in (60, 600, 10_000):
        bucket = Bucket("b", per_minute)
        assert bucket.capacity + bucket.rate * 60 <= per_minute
        assert bucket.capacity + bucket.rate * 60 > per_minute * 0.98


def test_tokens_shared_between_takers_and_partial_grants(make_quota):
    user, project = Bucket("u", 600), Bucket("p", 1200)
    first, second = make_quota(), make_quota()
    assert first.take([user, project], 7).tokens == 7
    grant = second.take([user, project], 7)
    assert grant.tokens == 3
    empty = first.take([user, project], 1)
    assert empty.tokens == 0 and 0 < empty.wait <= 1 / user.rate
    assert first.take([Bucket("other-user", 600), project], 50).tokens == 10


def test_event_ids_are_deterministic_base32hex():
    ids = {event_id(link, link * 7) for link in range(1, 2000)}
    assert len(ids) == 1999 and event_id(5, 35) == event_id(5, 35) != event_id(5, 36)
    assert all(re.fullmatch(r"[a-v0-9]{32}", i) for i in ids)


def test_worker_refuses_to_start_without_redis(tmp_path):
    from tests.conftest import platform_env
    from tests.sync.conftest import Workers

    env = platform_env(f"sqlite:///{tmp_path / 'c.db'}", CONNECTORS_INSTANCE_PATH=str(tmp_path / "instance"))
    result = Workers(env, tmp_path).run("worker", "--burst")
    assert result.returncode != 0 and "REDIS_URL" in result.stderr


def test_minimum_grant_waits_instead_of_sending_crumbs(make_quota):
    user, project = Bucket("u", 600), Bucket("p", 6000)
    quota = make_quota()
    assert quota.take([user, project], 8).tokens == 8
    crumbs = quota.take([user, project], 8, minimum=5)
    assert crumbs.tokens == 0 and (5 - 2) / user.rate * 0.9 < crumbs.wait <= 5 / user.rate
    assert crumbs.waiting_for == user
    assert quota.take([user, project], 8, minimum=2).tokens == 2


def test_grant_names_the_bucket_to_wait_for(make_quota):
    user, project = Bucket("u", 600), Bucket("p", 300)
    quota = make_quota()
    assert quota.take([user, project], 10).tokens == 5  # the project's five tokens
    empty = quota.take([user, project], 10, minimum=3)
    assert empty.tokens == 0 and empty.waiting_for == project
    assert quota.take([Bucket("u2", 600), project], 1).waiting_for == project
