"""Availability and push read-back: what a busy-times question and a change made in Google cost.

    .venv/bin/python benchmarks/availability.py                 # 100 users, 100 ms provider latency
    .venv/bin/python benchmarks/availability.py --users 20 --latency 0.05 --edits 20   # quicker

In-process: the real app (SQLite file, no Redis, so the busy cache is the process's memory)
asked through Flask's test client, against the fake Google of the test suite over loopback
HTTP with ``--latency`` seconds added to every provider request.

1. ``GET /api/v1/availability`` for each of ``--users`` users over one week, each with a
   busy event in two calendars and an appointment: *warm* (answered from the cache) and
   *cold* (cache emptied before each question: one ``freebusy.query`` each). The baseline is
   a bare JSON route under ``/api`` (the same session check) measured in the same run; the
   cold figures are also compared with the provider latency, and the provider calls per cold
   question are counted. The warm answer is also timed without HTTP (``busy_for`` and
   ``free_slots`` in an app context).
2. Push to flagged: the app served over loopback HTTP, each user watched by a push channel; an
   event of ours is moved "as the user" in the fake, which notifies the app; timed until the
   appointment reads ``changed_in_google``. In-process mode pulls while answering the
   notification: one ``events.list`` round trip.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from core import connections  # noqa: E402
from core.app import create_app  # noqa: E402
from core.auth import CurrentUser, mint_token, user_for_claims  # noqa: E402
from plugins.google_calendar.models import CalendarEventLink  # noqa: E402
from plugins.google_calendar import SCOPES, busy  # noqa: E402
from plugins.google_calendar.channels import ADDRESS_VARIABLE, PATH  # noqa: E402
from tests.conftest import platform_env  # noqa: E402
from tests.fakes.google import FakeGoogle  # noqa: E402

WEEK = {"from": "2030-05-06T00:00:00+00:00", "to": "2030-05-13T00:00:00+00:00", "duration": 30}
WORK = "work@group.calendar.google.com"


def p(values, q) -> float:
    """The ``q`` quantile of ``values`` in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def start(workdir: Path, fake: FakeGoogle, users: int):
    """The app on a SQLite file, served over loopback HTTP, with ``users`` users connected to the fake."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    env = {**platform_env(f"sqlite:///{workdir / 'connectors.db'}", fake), "BACKEND_URL": url, "APP_BASE_URL": url,
           "CONNECTORS_INSTANCE_PATH": str(workdir / "instance"), ADDRESS_VARIABLE: url + PATH}
    app = create_app(env)
    ext = app.extensions
    ext["connectors.db"].upgrade()
    app.add_url_rule("/api/bench/bare", "bench_bare", lambda: {"ok": True})
    server.app = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = ext["connectors.registry"].connector("google_calendar")
    tokens = []
    for n in range(users):
        email = f"user{n}@example.com"
        fake.add_account(email, calendars=[{"id": f"{n}-{WORK}", "summary": "Work"}])
        fake.add_event(email, {"summary": "Private", "start": {"dateTime": "2030-05-06T10:00:00+00:00"},
                               "end": {"dateTime": "2030-05-06T11:00:00+00:00"}})
        fake.add_event(email, {"summary": "Board", "start": {"dateTime": "2030-05-07T14:00:00+00:00"},
                               "end": {"dateTime": "2030-05-07T15:00:00+00:00"}}, f"{n}-{WORK}")
        with app.app_context(), ext["connectors.db"].session_scope() as session:
            row = user_for_claims(session, "bench", f"user{n}")
            user = CurrentUser(row.id, row.org_id, row.external_id)
            ext["connectors.credentials"].save_tokens(session, user.id, spec, fake.issue_token(email, SCOPES))
            connections.activate(session, ext["connectors.registry"], user, spec, email)
            connections.update_settings(session, ext["connectors.registry"], user, spec,
                                        {"busy_calendar_ids": [f"{n}-{WORK}"]})
        tokens.append(mint_token(ext["connectors.config"], f"user{n}", "bench", 3600))
    return app, server, tokens


def ask(client, token: str, path: str, params=None) -> float:
    started = time.perf_counter()
    response = client.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    return elapsed


def availability(app, fake, tokens, rounds: int) -> None:
    client = app.test_client()
    for token in tokens:  # book one appointment each and fill the caches
        response = client.post("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"}, json={
            "title": "Consultation", "starts_at": "2030-05-08T09:00:00+00:00", "ends_at": "2030-05-08T09:30:00+00:00"})
        assert response.status_code == 201, response.get_data(as_text=True)
        ask(client, token, "/api/v1/availability", WEEK)
    bare = [ask(client, t, "/api/bench/bare") for _ in range(rounds) for t in tokens]
    calls = fake.count("/freeBusy")
    warm = [ask(client, t, "/api/v1/availability", WEEK) for _ in range(rounds) for t in tokens]
    assert fake.count("/freeBusy") == calls, "warm questions must not reach Google"
    inside = warm_inside(app, len(tokens), rounds)
    with app.app_context():
        cache = busy.cache()
    cold = []
    for token, user_id in zip(tokens, range(1, len(tokens) + 1), strict=True):
        cache.forget(user_id)
        cold.append(ask(client, token, "/api/v1/availability", WEEK))
    per_question = (fake.count("/freeBusy") - calls) / len(tokens)
    print(f"availability, {len(tokens)} users x 1 week (in-process, Flask test client)")
    print(f"  bare /api route   p50 {p(bare, .5):7.2f} ms  p99 {p(bare, .99):7.2f} ms")
    print(f"  warm cache        p50 {p(warm, .5):7.2f} ms  p99 {p(warm, .99):7.2f} ms"
          f"  ({statistics.median(warm) / statistics.median(bare):.1f}x the bare route)")
    print(f"  warm, no HTTP     p50 {p(inside, .5):7.2f} ms  p99 {p(inside, .99):7.2f} ms"
          "  (busy_for + free_slots in an app context: the answer's own work)")
    latency_ms = fake.latency * 1000
    print(f"  cold cache        p50 {p(cold, .5):7.2f} ms  p99 {p(cold, .99):7.2f} ms"
          f"  ({p(cold, .5) / latency_ms:.2f}x one provider round trip of {latency_ms:.0f} ms;"
          f" {per_question:.2f} freebusy calls per question)")


def warm_inside(app, users: int, rounds: int) -> list[float]:
    """The warm answer without the request machinery: merged busy times and free slots, per user."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from core import availability as core_availability

    registry, db = app.extensions["connectors.registry"], app.extensions["connectors.db"]
    start, end = (datetime.fromisoformat(WEEK[k]) for k in ("from", "to"))
    hours = core_availability.WorkingHours(ZoneInfo("UTC"))
    timings = []
    with app.test_request_context(), db.session_scope() as session:
        for _ in range(rounds):
            for user_id in range(1, users + 1):
                started = time.perf_counter()
                known = core_availability.busy_for(registry, session, user_id, start, end)
                core_availability.free_slots(known.busy, start, end, timedelta(minutes=30), hours)
                timings.append(time.perf_counter() - started)
    return timings


def push_to_flagged(app, fake, tokens, edits: int) -> None:
    client = app.test_client()
    db = app.extensions["connectors.db"]
    made = []
    for n, token in enumerate(tokens[:edits]):
        response = client.post("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"}, json={
            "title": "Moved later", "starts_at": "2030-05-09T09:00:00+00:00", "ends_at": "2030-05-09T09:30:00+00:00"})
        assert response.status_code == 201
        made.append((f"user{n}@example.com", response.get_json()))
    timings = []
    for email, appointment in made:
        started = time.perf_counter()
        fake.edit_as_user(email, appointment["external_event_id"], start={"dateTime": "2030-05-09T15:00:00+00:00"},
                          end={"dateTime": "2030-05-09T15:30:00+00:00"})
        while True:
            with db.session_scope() as session:
                if session.get(CalendarEventLink, appointment["id"]).sync_status == "changed_in_google":
                    break
            time.sleep(0.002)
        timings.append(time.perf_counter() - started)
    print(f"push to appointment flagged, {len(timings)} edits, provider latency {fake.latency * 1000:.0f} ms")
    print(f"  p50 {p(timings, .5):7.1f} ms  p99 {p(timings, .99):7.1f} ms"
          f"  ({p(timings, .99) / (fake.latency * 1000):.1f}x one provider round trip)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="warm questions per user")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to each provider request")
    parser.add_argument("--edits", type=int, default=50, help="changes made in Google for the push measure")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fake = FakeGoogle(client_id="test-client", client_secret="test-secret")
    with fake, tempfile.TemporaryDirectory() as workdir:
        app, server, tokens = start(Path(workdir), fake, args.users)
        fake.latency = args.latency
        try:
            availability(app, fake, tokens, args.rounds)
            push_to_flagged(app, fake, tokens, min(args.edits, args.users))
        finally:
            server.shutdown()
            app.extensions["connectors.db"].engine.dispose()


if __name__ == "__main__":
    main()
