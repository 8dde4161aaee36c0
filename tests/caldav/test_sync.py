"""Appointments reach a real Radicale calendar through core's sync capability, in-process and with workers."""
from __future__ import annotations

from datetime import UTC

import pytest

from tests.caldav.conftest import USERS
from tests.conftest import platform_env
from tests.connectors.helpers import accepted_config, revoke, status
from tests.sync.conftest import APPOINTMENTS, Workers, appointment, new_appointment, synced, wait_until

SETTINGS = "/api/v1/connectors/caldav/settings"


def connect(platform, browser, server_url: str, user: str, calendar_id: str | None = None) -> None:
    accepted_config(platform, browser, "caldav", {"url": server_url, "username": user, "password": USERS[user]},
                    "password")
    if calendar_id:
        answer = browser.patch(platform.api(SETTINGS), json={"calendar_id": calendar_id})
        assert answer.status_code == 200, answer.text


def titles(radicale, user: str, slug: str) -> list[str]:
    return sorted(str(next(iter(c.walk("VEVENT")))["SUMMARY"]) for c in radicale.events(user, slug))


def only_event(radicale, user: str, slug: str):
    [stored] = radicale.events(user, slug)
    return next(iter(stored.walk("VEVENT")))


@pytest.fixture(params=["inline", "workers"])
def mode(request):
    return request.param


@pytest.fixture
def stack(mode, start_platform, database_url, tmp_path, request):
    """The platform, in-process or with RQ on a real Redis and two ``connectors worker`` processes."""
    if mode == "inline":
        yield start_platform(platform_env(database_url)), None
        return
    env = platform_env(database_url, REDIS_URL=request.getfixturevalue("redis_url"),
                       CONNECTORS_INSTANCE_PATH=str(tmp_path / "instance"))
    platform = start_platform(env)
    (tmp_path / "worker-logs").mkdir()
    pool = Workers(env, tmp_path / "worker-logs")
    pool.start("--reconcile-every", "0")
    pool.start("--reconcile-every", "0")
    yield platform, pool
    pool.stop_all()


def wait(predicate, what: str, pool) -> None:
    """Wait for ``predicate`` (generously: workers start slowly on a busy machine); fail with the workers' logs."""
    try:
        wait_until(predicate, timeout=60, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{pool.logs() if pool else ''}") from None


def test_create_move_cancel_and_calendar_choice(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    made = new_appointment(platform, alice, "Consultation", location="Cabinet, Lyon", notes="Première visite")
    wait(synced(platform, alice, made["id"]), "the create", pool)
    event = only_event(radicale, "alice", "cabinet")
    assert str(event["SUMMARY"]) == "Consultation" and str(event["LOCATION"]) == "Cabinet, Lyon"
    assert event["DTSTART"].dt.astimezone(UTC).hour == 9 and event["DTEND"].dt.astimezone(UTC).minute == 30
    assert str(event["X-CONNECTORS-APPOINTMENT-ID"]) == str(made["id"])
    assert str(event["X-CONNECTORS-ORG-ID"]) == "org-a"
    shown = appointment(platform, alice, made["id"])
    assert shown["calendar_id"] == "/alice/cabinet/" and shown["external_event_id"].startswith("/alice/cabinet/")
    [create] = caldav_proxy.writes()
    assert create.method == "PUT" and create.headers["If-None-Match"] == "*"

    moved = alice.patch(platform.api(f"{APPOINTMENTS}/{made['id']}"),
                        json={"starts_at": "2030-05-01T14:00:00+00:00", "ends_at": "2030-05-01T15:00:00+00:00"})
    assert moved.status_code == 200, moved.text
    wait(synced(platform, alice, made["id"]), "the move", pool)
    assert only_event(radicale, "alice", "cabinet")["DTSTART"].dt.astimezone(UTC).hour == 14
    update = caldav_proxy.writes()[-1]
    assert update.method == "PUT" and update.headers["If-Match"]

    # Another calendar chosen: the event moves there.
    alice.patch(platform.api(SETTINGS), json={"calendar_id": "/alice/perso/"})
    wait(lambda: titles(radicale, "alice", "perso") == ["Consultation"], "the calendar switch", pool)
    assert titles(radicale, "alice", "cabinet") == []

    alice.delete(platform.api(f"{APPOINTMENTS}/{made['id']}"))
    wait(synced(platform, alice, made["id"], "deleted"), "the cancel", pool)
    assert radicale.events("alice", "perso") == []
    details = status(platform, alice, "caldav")
    assert details["pending_changes"] == 0 and details["last_sync"]


def test_retry_after_a_lost_answer_makes_no_duplicate(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    caldav_proxy.inject(502, method="PUT", forward=True)  # Radicale stores the event; the answer is lost
    made = new_appointment(platform, alice, "Lost answer")
    if pool is None:  # in-process mode has no scheduler: reconcile picks it up
        assert appointment(platform, alice, made["id"])["sync_status"] == "pending"
        assert "502" in appointment(platform, alice, made["id"])["sync_error"]
        from core.worker import reconcile_now

        assert reconcile_now(platform.app)["caldav_stale_links"] == 1
    wait(synced(platform, alice, made["id"]), "the retry", pool)
    assert titles(radicale, "alice", "cabinet") == ["Lost answer"]
    # The object URL was recorded before the first PUT: the retry reads what is there and updates it.
    first, retry = caldav_proxy.writes()
    assert (first.status, first.headers["If-None-Match"]) == (502, "*")
    assert retry.status == 204 and retry.headers["If-Match"] and "If-None-Match" not in retry.headers


def test_etag_conflict_after_an_edit_on_the_server(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    made = new_appointment(platform, alice, "Original")
    wait(synced(platform, alice, made["id"]), "the create", pool)
    with radicale.client("alice") as phone:  # the user edits the event in their calendar app
        [event] = phone.calendar(url=f"{radicale.url}/alice/cabinet/").events()
        event.icalendar_component["SUMMARY"] = "Edited on the phone"
        event.save()
    alice.patch(platform.api(f"{APPOINTMENTS}/{made['id']}"), json={"title": "Renamed in the app"})
    wait(lambda: titles(radicale, "alice", "cabinet") == ["Renamed in the app"], "the update", pool)
    assert [(r.method, r.status) for r in caldav_proxy.requests if r.method in ("PUT", "GET")][-3:] == [
        ("PUT", 412), ("GET", 200), ("PUT", 204)]
    wait(synced(platform, alice, made["id"]), "the link recorded", pool)


def test_disconnect_and_sync_off_stop_every_request(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    first = new_appointment(platform, alice, "Before")
    wait(synced(platform, alice, first["id"]), "the create", pool)

    alice.patch(platform.api(SETTINGS), json={"sync_enabled": False})
    caldav_proxy.requests.clear()
    off = new_appointment(platform, alice, "While off", hour=10)
    revoke(platform, alice, "caldav")
    gone = new_appointment(platform, alice, "After disconnect", hour=11)
    alice.delete(platform.api(f"{APPOINTMENTS}/{first['id']}"))
    if pool is not None:
        pool.run("sync", "reconcile")
    for made in (off, gone):
        assert appointment(platform, alice, made["id"])["sync_status"] in ("pending", None)
    assert caldav_proxy.requests == []
    assert titles(radicale, "alice", "cabinet") == ["Before"]


def test_two_orgs_two_accounts(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice, bob = platform.browser("alice", "org-a"), platform.browser("bob", "org-b")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    connect(platform, bob, radicale.url, "bob", "/bob/perso/")
    mine = new_appointment(platform, alice, "Alice's patient")
    theirs = new_appointment(platform, bob, "Bob's patient")
    wait(synced(platform, alice, mine["id"]), "alice", pool)
    wait(synced(platform, bob, theirs["id"]), "bob", pool)
    assert titles(radicale, "alice", "cabinet") == ["Alice's patient"]
    assert titles(radicale, "bob", "perso") == ["Bob's patient"]
    assert radicale.events("alice", "perso") == [] and radicale.events("bob", "cabinet") == []
    assert alice.get(platform.api(f"{APPOINTMENTS}/{theirs['id']}")).status_code == 404
    # Each one's calendar route lists their own account's calendars only.
    listed = bob.get(platform.api("/api/v1/connectors/caldav/calendars")).json()
    assert [c["id"] for c in listed] == ["/bob/cabinet/", "/bob/perso/"]


def test_a_refused_login_stops_the_sync(stack, radicale, caldav_proxy):
    platform, pool = stack
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    radicale.add_user("alice", "changed-password")  # the user revoked the app password
    made = new_appointment(platform, alice, "Refused")
    wait(lambda: status(platform, alice, "caldav")["status"] == "needs_reauth", "needs_reauth", pool)
    assert appointment(platform, alice, made["id"])["sync_status"] == "pending"
    assert radicale.events("alice", "cabinet") == []


def test_cancel_after_lost_commits_deletes_the_event(start_platform, database_url, radicale, caldav_proxy):
    """A database that lost the record of a PUT (and its result) must not leave a cancelled
    appointment's event on the server: its deterministic path is tried all the same."""
    from sqlalchemy import text

    from core.worker import reconcile_now

    platform = start_platform(platform_env(database_url))
    alice = platform.browser("alice", "org-a")
    connect(platform, alice, caldav_proxy.url, "alice", "/alice/cabinet/")
    made = new_appointment(platform, alice, "Written, then the database crashed")
    assert titles(radicale, "alice", "cabinet") == ["Written, then the database crashed"]
    with platform.ext("db").engine.begin() as conn:  # as before the run's claim and result
        conn.execute(text("UPDATE caldav_event_links SET href = NULL, etag = NULL, calendar_id = NULL, "
                          "synced_version = 0, sync_status = 'pending', synced_at = NULL "
                          "WHERE appointment_id = :id"), {"id": made["id"]})
    alice.delete(platform.api(f"{APPOINTMENTS}/{made['id']}"))
    reconcile_now(platform.app)  # the link was pending already: the cancel queued nothing
    assert radicale.events("alice", "cabinet") == []
    assert appointment(platform, alice, made["id"])["sync_status"] == "deleted"
