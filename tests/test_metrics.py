"""``GET /metrics`` (Prometheus), request ids and JSON logs, on the platform served over HTTP."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from redis import Redis
from rq import Queue

from core import logs
from tests.conftest import connect_google, platform_env
from tests.sync.conftest import APPOINTMENTS, CALENDAR, new_appointment, synced, wait_until

TOKEN = "metrics-" + "m" * 32


def scrape(platform, token=TOKEN) -> str:
    response = requests.get(platform.url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.text


def value(text: str, series: str) -> float:
    """The value of one sample (``name{labels}``) in the exposition ``text``; 0 when absent."""
    match = re.search(r"^" + re.escape(series) + r" ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def total(text: str, prefix: str) -> float:
    """The sum of every sample whose name and labels start with ``prefix``."""
    return sum(float(v) for v in re.findall(r"^" + re.escape(prefix) + r"[^ ]* ([0-9.e+-]+)$", text, re.MULTILINE))


@pytest.fixture
def watched(start_platform, fake_google, tmp_path):
    """The platform in-process on SQLite, with a metrics token and a strict per-user quota (1 call/s)."""
    return start_platform(platform_env(f"sqlite:///{tmp_path / 'm.db'}", fake_google, METRICS_TOKEN=TOKEN,
                                       GOOGLE_CALENDAR_QUOTA_USER_PER_MIN="60"))


def test_metrics_need_the_token(watched):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = requests.get(watched.url + "/metrics", headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["code"] == 401
        assert "METRICS_TOKEN" in refused.json()["message"] and TOKEN not in refused.text
    assert "connectors_" in scrape(watched)


def test_without_a_token_only_loopback_is_answered(start_platform, tmp_path):
    app = start_platform(platform_env(f"sqlite:///{tmp_path / 'n.db'}")).app
    assert app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    remote = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403 and remote.json["status"] == "Forbidden"


def test_series_follow_what_the_platform_does(watched, fake_google):
    before = scrape(watched)
    delta = lambda series: value(scrape(watched), series) - value(before, series)  # noqa: E731
    alice = watched.browser("alice", "org-a")
    connect_google(watched, alice, fake_google, "alice@example.com")
    settings = watched.api(CALENDAR + "/settings")
    alice.patch(settings, json={"sync_enabled": False})
    first = new_appointment(watched, alice, "First")
    assert value(scrape(watched), "connectors_google_calendar_pending_links") == 1

    alice.patch(settings, json={"sync_enabled": True})
    wait_until(synced(watched, alice, first["id"]), what="the first sync")
    fake_google.inject(503, times=1, path_contains="/events")
    second = new_appointment(watched, alice, "Second", hour=10)  # 503, then retried by the in-process scheduler
    wait_until(synced(watched, alice, second["id"]), what="the retry")
    errors = 'connectors_provider_errors_total{connector="google_calendar"'
    assert total(scrape(watched), errors) - total(before, errors) == 1  # Google's reason for its 503
    assert delta('connectors_quota_waits_total{bucket="google_calendar:user"}') >= 1
    assert delta('connectors_provider_calls_total{connector="google_calendar"}') >= 3
    gauges = scrape(watched)
    assert value(gauges, "connectors_google_calendar_pending_links") == 0
    assert value(gauges, "connectors_google_calendar_sync_lag_seconds") == 0

    refreshed = 'connectors_token_refreshes_total{connector="google_calendar",outcome="%s"}'
    fake_google.expire_access_tokens()
    alice.patch(watched.api(f"{APPOINTMENTS}/{first['id']}"), json={"title": "First, renamed"})  # 401: refresh
    wait_until(lambda: delta(refreshed % "ok") == 1, what="the refresh")
    fake_google.revoke_grant("alice@example.com")
    fake_google.expire_access_tokens()
    alice.patch(watched.api(f"{APPOINTMENTS}/{second['id']}"), json={"title": "Second, renamed"})
    wait_until(lambda: delta(refreshed % "needs_reauth") == 1, what="the refused refresh")
    assert delta('connectors_needs_reauth_transitions_total{connector="google_calendar"}') == 1

    after = scrape(watched)
    route = 'connectors_http_request_duration_seconds_count{method="POST",route="/api/v1/appointments",status="201"}'
    assert value(after, route) - value(before, route) == 2
    assert value(after, "connectors_google_calendar_pending_links") == 1  # waits for the new consent
    assert "alice" not in after and "access_token" not in after


def test_request_id_echoed_logged_and_carried_into_jobs(start_platform, fake_google, redis_url, tmp_path):
    platform = start_platform(platform_env(f"sqlite:///{tmp_path / 'r.db'}", fake_google, REDIS_URL=redis_url))
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    queue = Queue("connectors", connection=Redis.from_url(redis_url))
    queue.empty()
    made = alice.post(platform.api(APPOINTMENTS), headers={"X-Request-ID": "cassius-42"},
                      json={"title": "Traced", "starts_at": "2030-05-01T09:00:00+00:00",
                            "ends_at": "2030-05-01T09:30:00+00:00"})
    assert made.status_code == 201 and made.headers["X-Request-ID"] == "cassius-42"
    [job] = queue.jobs
    assert job.meta["request_id"] == "cassius-42"
    invented = alice.get(platform.api(APPOINTMENTS), headers={"X-Request-ID": "no spaces <allowed>"})
    assert re.fullmatch(r"[0-9a-f]{32}", invented.headers["X-Request-ID"])


def test_json_log_lines_carry_the_request_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JSONFormatter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    try:
        token = logs.REQUEST_ID.set("req-1")
        logger.warning("Sync of user %s failed", 7)
        logs.REQUEST_ID.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("No request here")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "Sync of user 7 failed" and first["request_id"] == "req-1"
    assert first["level"] == "WARNING" and first["logger"] == "tests.json" and first["time"].endswith("Z")
    assert "request_id" not in second and "ValueError: boom" in second["exception"]


FIRST_RECORDS = """
import logging, sys, threading
from prometheus_client import REGISTRY
from core import metrics

warnings = []
logging.getLogger("core.metrics").addHandler(type("H", (logging.Handler,), {"emit": lambda h, r: warnings.append(r)})())
sys.setswitchinterval(1e-6)  # switch threads as often as possible, as a busy worker's run threads do
start = threading.Barrier(16)

def record():
    start.wait()
    metrics.provider_call("google_calendar")

threads = [threading.Thread(target=record) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(warnings), REGISTRY.get_sample_value("connectors_provider_calls_total", {"connector": "google_calendar"}))
"""


def test_threads_recording_their_first_metric_at_once_lose_nothing():
    """A worker's run threads record their first provider calls together: every record counts."""
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run([sys.executable, "-c", FIRST_RECORDS], capture_output=True, text=True, timeout=60, env=env,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "16.0"]
