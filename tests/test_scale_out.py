"""Scale-out under faults: two gunicorn instances and three workers on one PostgreSQL and one Redis.

Two "nodes" — node A runs gunicorn and two ``connectors worker`` processes, node B gunicorn and
one worker, all separate processes sharing a private PostgreSQL cluster and a private Redis
server — take a live load of appointment creations, moves and cancellations from users of
three organizations, sent to both instances in turn. Meanwhile a worker is SIGKILLed, Redis is
restarted (its queues, markers and leases are lost) and PostgreSQL is restarted as after a
crash. Throughout, every answer is a success or a clean 503 with ``Retry-After`` (never a 500,
never a connection dropped without an answer); afterwards every appointment is in its owner's
calendar exactly once with its current title, every cancelled one is gone, nothing else is
there, and nothing the API acknowledged is lost.

Each phase waits for the load to have made progress (polling, generous deadlines): on a busy
machine the processes are slow to start and to answer, never wrong.
"""
from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from core.auth import mint_token
from core.config import load_config
from tests.conftest import connect_google, platform_env
from tests.services import free_port
from tests.sync.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USERS = [(f"user{n}", f"org-{n % 3}", f"user{n}@example.com") for n in range(6)]
PATIENCE = 180  # seconds any phase may take on a loaded machine


class Node:
    """Processes of the platform started with one environment; stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir, self.processes = {**os.environ, **env}, log_dir, []

    def start(self, name: str, *argv: str, **extra) -> subprocess.Popen:
        with (self.log_dir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **extra}, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class Load:
    """Appointment changes from every user, to both instances in turn, until stopped.

    ``expected`` holds, per appointment, every state it may be in: a change that was
    acknowledged replaces them; one answered 503 adds its state to them (the database may have
    committed it just before it went away, and the answer was lost).
    """

    def __init__(self, urls: list[str], browsers: dict[str, requests.Session]):
        self.urls, self.browsers = itertools.cycle(urls), browsers
        self.owner: dict[int, str] = {}
        self.expected: dict[int, set[tuple[str, bool]]] = {}  # appointment id → {(title, cancelled)}
        self.unclean: list[str] = []
        self.answered = self.unavailable = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.random = random.Random(14)

    def send(self, email: str, method: str, path: str, **body):
        """The JSON of a success; None after a clean 503 (counted); anything else is recorded as unclean."""
        try:
            response = self.browsers[email].request(method, next(self.urls) + path, timeout=60, **body)
        except requests.RequestException as exc:
            self.unclean.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return None
        if response.status_code == 503 and response.headers.get("Retry-After") and \
                response.headers.get("Content-Type", "").startswith("application/json"):
            self.unavailable += 1
            return None
        if response.status_code >= 300:
            self.unclean.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        self.answered += 1
        return response.json()

    def change(self, appointment_id: int, state: tuple[str, bool], acknowledged: bool) -> None:
        if acknowledged:
            self.expected[appointment_id] = {state}
        else:
            self.expected[appointment_id].add(state)

    def run(self) -> None:
        for step in itertools.count():
            if self.stopping.is_set():
                return
            email = USERS[step % len(USERS)][2]
            mine = [i for i, states in self.expected.items()
                    if self.owner[i] == email and not any(cancelled for _, cancelled in states)]
            choice = self.random.random()
            if not mine or choice < 0.6:
                title = f"Visit {step}"
                starts = datetime(2030, 6, 1, tzinfo=UTC) + timedelta(hours=step)  # no two overlap
                made = self.send(email, "POST", "/api/v1/appointments", json={
                    "title": title, "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(minutes=30)).isoformat()})
                if made is not None:
                    self.owner[made["id"]] = email
                    self.expected[made["id"]] = {(title, False)}
            elif choice < 0.85:
                target, title = self.random.choice(mine), f"Moved {step}"
                done = self.send(email, "PATCH", f"/api/v1/appointments/{target}", json={"title": title})
                self.change(target, (title, False), done is not None)
            else:
                target = self.random.choice(mine)
                done = self.send(email, "DELETE", f"/api/v1/appointments/{target}")
                title = next(iter(self.expected[target]))[0] if done is None else done["title"]
                self.change(target, (title, True), done is not None)
            time.sleep(0.05)  # a steady pace, leaving the machine's cores to the platform

    def progressed(self, answers: int, *, successes: bool = True):
        """A predicate: the load has had ``answers`` more successful answers than now (or clean
        answers of any kind, 503s included, when not ``successes``)."""
        def count():
            return self.answered if successes else self.answered + self.unavailable + len(self.unclean)
        goal = count() + answers
        return lambda: count() >= goal


def calendars_match(engine, fake_google) -> str | None:
    """None when Google holds exactly the live appointments (each once, with its title); else what differs."""
    with engine.connect() as conn:
        behind = conn.execute(text(
            "SELECT count(*) FROM calendar_event_links l JOIN appointments a ON a.id = l.appointment_id "
            "WHERE l.sync_status IN ('pending', 'failed') OR l.synced_version < a.version")).scalar()
        rows = conn.execute(text("SELECT a.id, a.title, a.status, u.external_id FROM appointments a "
                                 "JOIN users u ON u.id = a.owner_user_id")).all()
    if behind:
        return f"{behind} links behind"
    for user, _, email in USERS:
        by_appointment: dict[int, list[str]] = {}
        for event in fake_google.events(email):
            appointment_id = int(event["extendedProperties"]["private"]["connectors_appointment_id"])
            by_appointment.setdefault(appointment_id, []).append(event["summary"])
        wanted = {row.id: [row.title] for row in rows if row.external_id == user and row.status == "scheduled"}
        if by_appointment != wanted:
            return f"{email}: Google has {by_appointment}, the database says {wanted}"
    return None


def test_two_nodes_three_workers_survive_worker_kill_and_restarts(private_postgres, redis_server, redis_url,
                                                                  fake_google, tmp_path):
    for _, _, email in USERS:
        fake_google.add_account(email)
    database_url = private_postgres.database_url(private_postgres.create_database())
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    env = platform_env(database_url, fake_google, REDIS_URL=redis_url, BACKEND_URL=urls[0], APP_BASE_URL=urls[0],
                       CONNECTORS_INSTANCE_PATH=str(tmp_path / "instance"), GUNICORN_WORKERS="1",
                       GUNICORN_THREADS="4", PYTHONPATH=str(ROOT))  # the processes run this checkout's code
    (tmp_path / "logs").mkdir()
    node = Node(env, tmp_path / "logs")
    engine = create_engine(database_url, pool_pre_ping=True)
    try:
        upgrade = subprocess.run([str(BIN / "connectors"), "db", "upgrade"], cwd=ROOT, env=node.env,
                                 capture_output=True, text=True, timeout=PATIENCE)
        assert upgrade.returncode == 0, upgrade.stderr
        for n, port in enumerate(ports):
            node.start(f"gunicorn-{'ab'[n]}", str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "core.app:create_app()",
                       GUNICORN_BIND=f"127.0.0.1:{port}")
        workers = [node.start(f"worker-{n}", str(BIN / "connectors"), "worker", "--reconcile-every", "2")
                   for n in range(3)]

        def up(url):
            try:
                return requests.get(url + "/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(lambda: all(up(url) for url in urls), timeout=PATIENCE, what="both instances\n" + node.logs())
        config = load_config(node.env)
        browsers = {}
        for user, org, email in USERS:
            browsers[email] = requests.Session()
            browsers[email].headers["Authorization"] = f"Bearer {mint_token(config, user, org)}"
            deployed = type("Node", (), {"api": staticmethod(lambda path: urls[0] + path)})()
            connect_google(deployed, browsers[email], fake_google, email)

        load = Load(urls, browsers)
        load.thread.start()
        wait_until(load.progressed(40), timeout=PATIENCE, what="the load to start")
        os.killpg(workers[0].pid, signal.SIGKILL)  # node A loses a worker mid-load
        workers[0].wait()
        wait_until(load.progressed(20), timeout=PATIENCE, what="the load after the kill")
        redis_server.stop()  # Redis restarts: queued jobs, markers and leases are lost
        wait_until(load.progressed(5, successes=False), timeout=PATIENCE, what="the load while Redis is away")
        redis_server.start()
        wait_until(load.progressed(20), timeout=PATIENCE, what="the load after Redis came back")
        private_postgres.restart()  # PostgreSQL crashes and comes back (503s meanwhile)
        wait_until(load.progressed(40), timeout=PATIENCE, what="the load after PostgreSQL came back")
        load.stopping.set()
        load.thread.join(PATIENCE)

        assert load.unclean == [], "\n".join(load.unclean[:20]) + "\n" + node.logs()
        deadline = time.monotonic() + PATIENCE
        while (problem := calendars_match(engine, fake_google)) is not None:
            assert time.monotonic() < deadline, f"the calendars never converged: {problem}\n{node.logs()}"
            time.sleep(0.5)
        with engine.connect() as conn:
            stored = {row.id: (row.title, row.status == "cancelled")
                      for row in conn.execute(text("SELECT id, title, status FROM appointments"))}
        for appointment_id, states in load.expected.items():  # nothing acknowledged is lost
            assert stored.get(appointment_id) in states, (appointment_id, stored.get(appointment_id), states)
        assert fake_google.quota_errors == 0
    finally:
        node.stop()
        engine.dispose()
