"""Prometheus metrics: what the platform is doing, served at ``GET /metrics``.

Counters and histograms are prometheus-client objects made on first use in each process. When
``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py`` and ``connectors worker`` set it), they
are in prometheus-client's multiprocess mode: every process writes its own file there and
``/metrics`` adds them up, so a scrape sees every gunicorn worker — and the ``connectors worker``
processes sharing that folder on the same host. Gauges about the work itself (queue depth, and
what plugins report through their ``metrics`` hook: pending links, sync lag…) are measured in the
database and Redis at scrape time, so every instance reports the same cluster-wide values.

Plugins and core report through the functions below; none of them ever raises.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import threading
import time

from flask import Blueprint, Response, current_app, g, request

log = logging.getLogger(__name__)

blp = Blueprint("metrics", __name__)

#: Latency buckets (seconds) of API requests: most answer in milliseconds, provider calls in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Made once per process by whichever thread records first (a worker's run threads record at once).
_made: dict = {}
_making = threading.Lock()


def _series() -> dict:
    """The process's metric objects, made once, after ``PROMETHEUS_MULTIPROC_DIR`` is settled.

    Under a lock: two threads making them at once would register each series twice, and
    prometheus-client refuses the second (``DuplicateTimeseries``), losing that thread's record."""
    if not _made:
        with _making:
            if not _made:
                _made.update(_new_series())
    return _made


def _new_series() -> dict:
    from prometheus_client import Counter, Histogram

    return {
        "latency": Histogram("connectors_http_request_duration_seconds", "API request latency by route.",
                             ["method", "route", "status"], buckets=BUCKETS),
        "calls": Counter("connectors_provider_calls", "Calls to providers (sync and actions) by connector.",
                         ["connector"]),
        "errors": Counter("connectors_provider_errors", "Failed provider calls by connector and reason.",
                          ["connector", "reason"]),
        "refreshes": Counter("connectors_token_refreshes", "OAuth token refreshes by connector and outcome.",
                             ["connector", "outcome"]),
        "reauth": Counter("connectors_needs_reauth_transitions",
                          "Connections that turned needs_reauth (the user must consent again).", ["connector"]),
        "quota_waits": Counter("connectors_quota_waits", "Times a run had to wait for quota tokens.",
                               ["bucket"]),
        "quota_seconds": Counter("connectors_quota_wait_seconds", "Seconds runs waited (or parked) for quota.",
                                 ["bucket"]),
    }


def _safely(record):
    @functools.wraps(record)
    def wrapper(*args, **kwargs):
        try:
            record(*args, **kwargs)
        except Exception as exc:  # metrics must never break the work they measure
            log.warning("Could not record metric %s: %s", record.__name__, type(exc).__name__)
    return wrapper


@_safely
def provider_call(connector: str, error: str | None = None, count: int = 1) -> None:
    """Count ``count`` calls to ``connector``'s provider; ``error`` is the failure's reason, if any
    (a stable code or an HTTP status such as ``"503"`` or ``"rateLimitExceeded"``)."""
    series = _series()
    series["calls"].labels(connector).inc(count)
    if error is not None:
        series["errors"].labels(connector, error).inc(count)


@_safely
def token_refresh(connector: str, outcome: str) -> None:
    """Count one OAuth refresh of ``connector``: ``ok``, ``needs_reauth`` or ``failed``."""
    _series()["refreshes"].labels(connector, outcome).inc()


@_safely
def needs_reauth(connector: str) -> None:
    """Count one connection of ``connector`` turning ``needs_reauth``."""
    _series()["reauth"].labels(connector).inc()


@_safely
def quota_wait(bucket: str, seconds: float) -> None:
    """Count one wait of ``seconds`` for tokens of ``bucket`` (a kind such as ``<connector>:user``,
    never a per-user name)."""
    series = _series()
    series["quota_waits"].labels(bucket).inc()
    series["quota_seconds"].labels(bucket).inc(seconds)


# -- requests ---------------------------------------------------------------------------------

def init_app(app) -> None:
    """Time every request (by route pattern, never by raw path) and serve ``GET /metrics``."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(blp)


def _start_timer():
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None and request.endpoint != "metrics.scrape":
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        _record_latency(request.method, route, str(response.status_code), time.perf_counter() - started)
    return response


@_safely
def _record_latency(method: str, route: str, status: str, seconds: float) -> None:
    _series()["latency"].labels(method, route, status).observe(seconds)


# -- the endpoint ---------------------------------------------------------------------------

@blp.get("/metrics")
def scrape():
    """Prometheus text format; needs ``Authorization: Bearer $METRICS_TOKEN`` (without a token
    configured, only loopback clients are answered)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    refusal = _refusal()
    if refusal is not None:
        return refusal
    _series()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    measured = CollectorRegistry()
    measured.register(_Measured(current_app._get_current_object()))
    return Response(generate_latest(registry) + generate_latest(measured), mimetype=CONTENT_TYPE_LATEST)


def _refusal():
    token = current_app.extensions["connectors.config"].environ.get("METRICS_TOKEN", "").strip()
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        return _error(401, "Unauthorized", "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.")
    try:
        if ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:
            return None
    except ValueError:
        pass
    return _error(403, "Forbidden", "Set METRICS_TOKEN to scrape /metrics from another host.")


def _error(code: int, status: str, message: str):
    return {"code": code, "status": status, "message": message, "errors": {}}, code


class _Measured:
    """Gauges measured at scrape time: queue depth (core) and every plugin's ``metrics`` hook."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        queue = self.app.extensions.get("connectors.queue")
        if queue is not None:
            depth = GaugeMetricFamily("connectors_queue_depth", "Jobs waiting in the queue, and scheduled for later.",
                                      labels=["queue", "state"])
            try:
                depth.add_metric([queue.name, "queued"], queue.count)
                depth.add_metric([queue.name, "scheduled"], queue.scheduled_job_registry.count)
                yield depth
            except Exception as exc:
                log.warning("Queue depth unavailable: %s", type(exc).__name__)
        try:
            with self.app.extensions["connectors.db"].session_scope() as session:
                registry = self.app.extensions["connectors.registry"]
                reported = registry.hook.metrics(session=session, platform=registry.platform)
                for gauges in reported:
                    for name, help_text, value in gauges or ():
                        yield GaugeMetricFamily(f"connectors_{name}", help_text, value=value)
        except Exception as exc:
            log.warning("Plugin gauges unavailable: %s", type(exc).__name__)
