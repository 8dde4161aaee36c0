"""Tools API throughput: GET /api/v1/tools and one platform-tool invoke vs a bare Flask route.

    .venv/bin/python benchmarks/tools_throughput.py                        # 32 clients, 5 rounds x 5 s
    .venv/bin/python benchmarks/tools_throughput.py --rounds 2 --seconds 3 # quicker

One gunicorn (``gunicorn.conf.py``: gthread workers) serves the real app on a SQLite file,
plus a bare JSON route added to the same app, so every route goes through the same server,
the same workers and the same ``before_request`` hooks; the bare route is also measured under
``/api/``, where it pays the session check (JWT, user lookup), to tell that cost from the
tools' own. Each client is its own signed-in user with Google Calendar active (so
``GET /api/v1/tools`` lists seven tools) and keeps one keep-alive connection; the clients
speak raw HTTP/1.1 from asyncio loops in two processes, so the load generator takes little
of the machine's CPU from the server.

Which gunicorn worker accepts which keep-alive connection is luck, and it changes a
measurement by tens of per cent, so the routes are measured in turn over several rounds
(new connections each time, after a warm-up) and each figure is the median over the rounds.
Printed per route: requests per second, p50 and p99 latency, throughput as a share of the
bare route's, the spread between the busiest and the least served client (requests made
by one over the other: 1.0x is perfectly fair), and the CPU time the gunicorn workers spent
per request (user + system, from /proc: steadier than the throughput on a shared machine).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import re
import runpy
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import connections  # noqa: E402
from core.app import create_app  # noqa: E402
from core.auth import CurrentUser, mint_token, user_for_claims  # noqa: E402
from tests.conftest import platform_env  # noqa: E402
from tests.services import free_port  # noqa: E402

BARE = ("GET", "/bench/bare", None)
ROUTES = {
    "bare Flask JSON route": BARE,
    "same, under /api (session check only)": ("GET", "/api/bench/bare", None),
    "GET /api/v1/tools": ("GET", "/api/v1/tools", None),
    "POST /api/v1/tools/list_connectors/invoke": ("POST", "/api/v1/tools/list_connectors/invoke", b"{}"),
}


def bench_app():
    """The platform's app plus the bare route, at ``/bench/bare`` and, behind the session check,
    at ``/api/bench/bare`` (gunicorn factory: ``benchmarks.tools_throughput:bench_app()``)."""
    app = create_app()
    for path in ("/bench/bare", "/api/bench/bare"):
        app.add_url_rule(path, path, lambda: {"ok": True, "tools": []})
    return app


def prepare(workdir: Path, clients: int) -> tuple[dict, list[str]]:
    """Migrate a SQLite database, connect Google Calendar for ``clients`` users; return env and tokens."""
    env = {**platform_env(f"sqlite:///{workdir / 'connectors.db'}"), "APP_ENV": "development",
           "GOOGLE_CLIENT_ID": "bench", "GOOGLE_CLIENT_SECRET": "bench",
           "CONNECTORS_INSTANCE_PATH": str(workdir / "instance")}
    app = create_app(env)
    ext = app.extensions
    ext["connectors.db"].upgrade()
    spec = ext["connectors.registry"].connector("google_calendar")
    tokens = []
    with app.app_context(), ext["connectors.db"].session_scope() as session:
        for n in range(clients):
            row = user_for_claims(session, "bench", f"user{n}")
            user = CurrentUser(row.id, row.org_id, row.external_id)
            ext["connectors.credentials"].save_tokens(session, user.id, spec, {
                "access_token": f"token-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600,
                "token_type": "Bearer", "scope": " ".join(spec.oauth.scopes)})
            connections.activate(session, ext["connectors.registry"], user, spec, f"user{n}@example.com")
            tokens.append(mint_token(ext["connectors.config"], f"user{n}", "bench", 3600))
    ext["connectors.db"].engine.dispose()
    return env, tokens


def _request_bytes(route, token: str) -> bytes:
    method, path, body = route
    body = body or b""
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _client(port, request: bytes, stop_at, latencies, errors):
    """One client sending ``request`` until ``stop_at`` on a keep-alive connection, opening a
    new one (timed with the request it carries) when the server closes it; raw HTTP/1.1, so
    the load generator spends little CPU per request (http.client's header parsing costs
    more than the bare route itself). Returns how many requests it made."""
    writer = None
    made = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        made += 1
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(head.split(b"\r\n", 1)[0].decode())
        if re.search(rb"(?i)\r\nconnection: *close", head):
            writer.close()
            writer = None
    if writer is not None:
        writer.close()
    return made


def _load(port, route, tokens, seconds, queue):
    """One load process: an asyncio client per token, each with its own keep-alive connection."""
    latencies, errors = [], []

    async def run():
        stop_at = time.perf_counter() + seconds
        return await asyncio.gather(*(_client(port, _request_bytes(route, token), stop_at, latencies, errors)
                                      for token in tokens))

    counts = asyncio.run(run())
    queue.put((latencies, errors, counts))


def worker_pids(master: int, expected: int) -> list[int]:
    """The ``expected`` processes whose parent is ``master`` (gunicorn's workers), from /proc."""
    deadline = time.monotonic() + 10
    while True:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue  # a process that ended meanwhile
        if len(pids) == expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(port: int, route, tokens: list[str], seconds: float, processes: int, server: list[int] = ()) -> dict:
    """Run ``len(tokens)`` clients against ``route`` for ``seconds``; requests/s, latencies, and
    the CPU time the ``server`` processes spent per request."""
    cpu_before = cpu_seconds(server)
    queue = multiprocessing.Queue()
    shares = [tokens[i::processes] for i in range(processes)]
    workers = [multiprocessing.Process(target=_load, args=(port, route, share, seconds, queue)) for share in shares]
    for worker in workers:
        worker.start()
    latencies, errors, counts = [], [], []
    for _ in workers:
        got, failed, made = queue.get()
        latencies += got
        errors += failed
        counts += made
    for worker in workers:
        worker.join()
    cpu = cpu_seconds(server) - cpu_before
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "requests": len(latencies), "errors": len(errors),
            "spread": max(counts) / max(1, min(counts)), "cpu_us": cpu / len(latencies) * 1e6}


def serve(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    """Start gunicorn with the project's config on ``port``; return once it answers."""
    server_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "GUNICORN_BIND": f"127.0.0.1:{port}",
                  "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
    process = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "gunicorn.conf.py"),
                                "--access-logfile", "/dev/null", "benchmarks.tools_throughput:bench_app()"],
                               env=server_env, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")


def gunicorn_sizes(workers: int | None, threads: int | None) -> tuple[int, int]:
    """``workers`` and ``threads`` where given, else the sizes ``gunicorn.conf.py`` picks here."""
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return workers or config["workers"], threads or config["threads"]


def main() -> None:
    """Parse the options, start gunicorn, measure each route and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per route and round")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before each measurement")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every route; medians are printed")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: as gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: as gunicorn.conf.py)")
    args = parser.parse_args()
    args.workers, args.threads = gunicorn_sizes(args.workers, args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        env, tokens = prepare(Path(tmp), args.clients)
        port = free_port()
        server = serve(env, port, args.workers, args.threads)
        try:
            server_pids = worker_pids(server.pid, args.workers)
            rounds = {name: [] for name in ROUTES}
            for _ in range(args.rounds):
                for name, route in ROUTES.items():
                    measure(port, route, tokens, args.warmup, args.processes)
                    rounds[name].append(measure(port, route, tokens, args.seconds, args.processes, server_pids))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(10)
    results = {name: median_round(runs) for name, runs in rounds.items()}
    bare = results["bare Flask JSON route"]["rps"]
    print(f"{args.clients} clients, gunicorn {args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs, "
          f"median of {args.rounds} rounds of {args.seconds:g} s per route")
    print(f"{'route':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of bare':>8} {'spread':>7} {'CPU µs':>7} "
          f"{'errors':>7}")
    for name, r in results.items():
        print(f"{name:<44} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['rps'] / bare:8.0%} "
              f"{r['spread']:6.1f}x {r['cpu_us']:7.0f} {r['errors']:7d}")
    print(json.dumps(rounds))


def median_round(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (errors: their sum)."""
    return {**{key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99", "spread", "cpu_us")},
            "errors": sum(run["errors"] for run in runs)}


if __name__ == "__main__":
    main()
