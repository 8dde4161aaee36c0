"""Fixtures for sync tests: appointments through the API, workers as real subprocesses, polling."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import platform_env

APPOINTMENTS = "/api/v1/appointments"
CALENDAR = "/api/v1/connectors/google_calendar"
CONNECTORS = str(Path(sys.executable).parent / "connectors")


def wait_until(predicate, timeout: float = 15.0, what: str = "condition"):
    """Poll ``predicate`` every 20 ms until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def new_appointment(platform, browser, title="Consultation", hour=9, **extra) -> dict:
    """POST an appointment; assert 201; return it."""
    body = {"title": title, "starts_at": f"2030-05-01T{hour:02d}:00:00+00:00",
            "ends_at": f"2030-05-01T{hour:02d}:30:00+00:00", "timezone": "Europe/Paris", **extra}
    response = browser.post(platform.api(APPOINTMENTS), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def appointment(platform, browser, appointment_id) -> dict:
    """GET one appointment."""
    response = browser.get(platform.api(f"{APPOINTMENTS}/{appointment_id}"))
    assert response.status_code == 200, response.text
    return response.json()


def synced(platform, browser, appointment_id, status="synced"):
    """A predicate: the appointment's link has reached ``status``."""
    return lambda: appointment(platform, browser, appointment_id)["sync_status"] == status


class Workers:
    """``connectors worker`` subprocesses sharing the platform's environment (database, Redis, keys)."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        """Start one worker (extra CLI ``args``); return its process once it has registered with RQ."""
        from redis import Redis
        from rq import Worker

        connection = Redis.from_url(self.env["REDIS_URL"])
        registered = len(Worker.all(connection=connection))
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")
        process = subprocess.Popen([CONNECTORS, "worker", *args], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.processes.append(process)
        # On a busy machine a worker takes seconds to import the app: tests time their work, not that.
        wait_until(lambda: process.poll() is not None or len(Worker.all(connection=connection)) > registered,
                   timeout=120, what="the worker to register\n" + self.logs())
        assert process.poll() in (None, 0), self.logs()  # a --burst worker may be done already
        return process

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run another ``connectors`` command with the same environment."""
        return subprocess.run([CONNECTORS, *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a worker (and any child it forked)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        """Stop every worker still running (SIGTERM, then SIGKILL)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self) -> str:
        """Every worker's output, for failure messages."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite file the platform and worker processes share."""
    return f"sqlite:///{tmp_path / 'connectors.db'}"


@pytest.fixture
def worker_env(database_url, fake_google, redis_url, tmp_path) -> dict:
    """The environment of a platform in worker mode (RQ on the test Redis), on SQLite and PostgreSQL."""
    return platform_env(database_url, fake_google, REDIS_URL=redis_url,
                        CONNECTORS_INSTANCE_PATH=str(tmp_path / "instance"))


@pytest.fixture
def worker_platform(start_platform, worker_env):
    """The platform in worker mode: jobs go to Redis, nothing runs them until workers start."""
    return start_platform(worker_env)


@pytest.fixture
def workers(worker_env, tmp_path):
    """Start ``connectors worker`` processes (a platform migrates the database first); stopped after the test."""
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    pool = Workers(worker_env, log_dir)
    yield pool
    pool.stop_all()
