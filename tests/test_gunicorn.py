"""The production server settings: gunicorn started with the repository's ``gunicorn.conf.py``."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.app import create_app
from tests.conftest import platform_env
from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn serving the platform on SQLite with one worker; yields its port and its log file."""
    url = f"sqlite:///{tmp_path / 'connectors.db'}"
    create_app(platform_env(url), instance_path=str(tmp_path / "instance")).extensions["connectors.db"].upgrade()
    port = free_port()
    env = {**os.environ, **platform_env(url), "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1",
           "GUNICORN_THREADS": "2",
           "CONNECTORS_INSTANCE_PATH": str(tmp_path / "instance")}
    log = (tmp_path / "gunicorn.log").open("w+b")
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "gunicorn.conf.py"),
                               "core.app:create_app()"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 120
    while True:  # until a worker has loaded the app (seconds on a busy machine), not just the master's socket
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                if exchange(connection, "/healthz").startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, log_text(log)
        time.sleep(0.1)
    yield port, log
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(15)
    log.close()


def log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode()


def exchange(connection, path: str) -> bytes:
    """Send a GET on ``connection`` and return the response head (the body is read and dropped)."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += connection.recv(65536)
    return head


def test_access_log_has_the_path_never_the_query(gunicorn):
    port, log = gunicorn
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert exchange(connection, "/healthz?code=secret-code&state=secret-state").startswith(b"HTTP/1.1 200")
        assert exchange(connection, "/healthz").startswith(b"HTTP/1.1 200")  # kept alive
    deadline = time.monotonic() + 5
    while '"GET /healthz"' not in log_text(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log_text(log)
    assert re.search(r'127\.0\.0\.1 "GET /healthz" 200 \d+ \d+ms', text), text
    assert "secret-" not in text
