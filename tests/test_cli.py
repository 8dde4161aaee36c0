"""The `connectors` command as an operator runs it: a real subprocess, real HTTP."""
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from core.crypto import generate_key
from tests.services import free_port

CONNECTORS = str(Path(sys.executable).with_name("connectors"))


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"CONNECTORS_INSTANCE_PATH": str(tmp_path / "instance"), **extra})
    return env


def test_run_serves_platform_on_embedded_defaults(tmp_path):
    port = free_port()
    server = subprocess.Popen([CONNECTORS, "run", "--port", str(port)], env=_env(tmp_path), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "connectors run did not start"
                time.sleep(0.1)
        assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
        token = subprocess.run([CONNECTORS, "dev-token", "--user", "u1", "--org", "o1"], env=_env(tmp_path),
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
        grid = requests.get(f"http://127.0.0.1:{port}/api/v1/connectors",
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert grid.status_code == 200 and {"google_calendar", "smtp"} <= {c["key"] for c in grid.json()}
    finally:
        server.terminate()
        server.wait(10)
    assert (tmp_path / "instance" / "connectors.db").exists()


def test_dev_token_refused_in_production(tmp_path):
    env = _env(tmp_path, APP_ENV="production", CONNECTORS_ENCRYPTION_KEYS=generate_key(), JWT_SECRET="s" * 40,
               GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret", DATABASE_URL=f"sqlite:///{tmp_path}/p.db")
    result = subprocess.run([CONNECTORS, "dev-token", "--user", "u", "--org", "o"], env=env, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "production" in result.stderr


def test_production_start_names_missing_variable(tmp_path):
    env = _env(tmp_path, APP_ENV="production", JWT_SECRET="s" * 40)
    result = subprocess.run([CONNECTORS, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "CONNECTORS_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr
