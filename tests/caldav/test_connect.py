"""Connecting a CalDAV account through the HTTP API against a real Radicale server."""
from __future__ import annotations

import pytest

from tests.caldav.conftest import USERS
from tests.conftest import platform_env
from tests.connectors.helpers import accepted_config, refused_config, revoked, run, status

ORG = "o1"


def values(server_url: str, user: str = "alice", password: str | None = None) -> dict:
    return {"url": server_url, "username": user, "password": password or USERS[user]}


@pytest.fixture
def platform(start_platform, database_url):
    p = start_platform(platform_env(database_url))
    return p, p.browser("alice", ORG)


def test_good_and_bad_password_discovery_and_calendars(platform, caldav_proxy):
    p, browser = platform
    bad = refused_config(p, browser, "caldav", values(caldav_proxy.url, password="wrong-password"), "alice", ORG,
                         "wrong-password")
    assert bad["errors"]["field"] == "password" and bad["errors"]["cause"] == "auth"
    assert "mot de passe d’application" in bad["message"]  # French first, through the catalog

    caldav_proxy.requests.clear()
    connected = accepted_config(p, browser, "caldav", values(caldav_proxy.url), "password")
    assert connected["account"] == "alice @ 127.0.0.1"
    # A bare server address is discovered through /.well-known/caldav, the principal and its calendar-home-set.
    paths = [(r.method, r.path) for r in caldav_proxy.requests]
    assert paths[0] == ("PROPFIND", "/.well-known/caldav")
    assert ("PROPFIND", "/alice/") in paths

    calendars = browser.get(p.api("/api/v1/connectors/caldav/calendars"))
    assert calendars.status_code == 200, calendars.text
    assert calendars.json() == [{"id": "/alice/cabinet/", "summary": "Cabinet"},
                                {"id": "/alice/perso/", "summary": "Perso"}]
    chosen = browser.patch(p.api("/api/v1/connectors/caldav/settings"), json={"calendar_id": "/alice/perso/"})
    assert chosen.status_code == 200 and chosen.json()["settings"]["calendar_id"] == "/alice/perso/"
    assert USERS["alice"] not in calendars.text + chosen.text

    revoked(p, browser, "caldav", "alice", ORG)
    assert browser.get(p.api("/api/v1/connectors/caldav/calendars")).status_code == 409


def test_a_calendar_url_is_accepted_as_the_start(platform, radicale):
    p, browser = platform
    accepted_config(p, browser, "caldav", values(f"{radicale.url}/alice/"), "password")
    assert status(p, browser, "caldav")["config"]["url"] == f"{radicale.url}/alice/"


def test_not_a_caldav_server(platform, start_platform):
    p, browser = platform
    # The platform itself answers HTTP but is no CalDAV server.
    answer = refused_config(p, browser, "caldav", values(p.url + "/healthz"), "alice", ORG, USERS["alice"])
    assert answer["errors"]["field"] == "url"


@pytest.mark.parametrize("url, cause", [
    ("https://127.0.0.1:9/", "forbidden_host"),
    ("https://169.254.169.254/", "forbidden_host"),
    ("ftp://example.com/", None),
    ("https://user:pw@example.com/", None),
])
def test_ssrf_guard_refuses_private_hosts(start_platform, tmp_path, url, cause):
    env = platform_env(f"sqlite:///{tmp_path}/x.db")
    del env["CONNECTORS_ALLOW_PRIVATE_HOSTS"]
    p = start_platform(env)
    browser = p.browser("alice", ORG)
    answer = refused_config(p, browser, "caldav", values(url), "alice", ORG, USERS["alice"])
    assert answer["errors"]["field"] == "url"
    if cause:
        assert answer["errors"]["cause"] == cause


def test_plain_http_needs_private_hosts_allowed(start_platform, tmp_path):
    env = platform_env(f"sqlite:///{tmp_path}/x.db")
    del env["CONNECTORS_ALLOW_PRIVATE_HOSTS"]
    p = start_platform(env)
    browser = p.browser("alice", ORG)
    answer = refused_config(p, browser, "caldav", values("http://caldav.example.com/"), "alice", ORG, USERS["alice"])
    assert "https://" in answer["message"]


def test_actions_create_and_list_events(platform, radicale):
    p, browser = platform
    accepted_config(p, browser, "caldav", values(radicale.url), "password")
    browser.patch(p.api("/api/v1/connectors/caldav/settings"), json={"calendar_id": "/alice/perso/"})
    created = run(p, browser, "caldav", "create_event", title="Dentiste", start="2030-05-14T09:30",
                  duration_minutes=45, timezone="Europe/Paris", location="Lyon")
    assert created.status_code == 200, created.text
    result = created.json()["result"]
    assert result["start"] == "2030-05-14T09:30:00+02:00" and result["end"] == "2030-05-14T10:15:00+02:00"

    # A separate CalDAV client reads it back from the chosen calendar (in UTC: 09:30 in Paris in May is 07:30).
    [stored] = radicale.events("alice", "perso")
    event = next(iter(stored.walk("VEVENT")))
    assert str(event["SUMMARY"]) == "Dentiste" and str(event["UID"]) == result["uid"]
    assert event["DTSTART"].dt.isoformat() == "2030-05-14T07:30:00+00:00"
    assert radicale.events("alice", "cabinet") == []

    listed = run(p, browser, "caldav", "list_events", start="2030-05-14T00:00", end="2030-05-15T00:00")
    assert listed.status_code == 200, listed.text
    body = listed.json()["result"]
    assert body["count"] == 1 and body["events"][0]["title"] == "Dentiste"
    assert body["events"][0]["start"] == "2030-05-14T09:30:00+02:00"


@pytest.mark.parametrize("arguments, field", [
    ({"title": "", "start": "2030-05-14T09:30"}, "title"),
    ({"title": "x", "start": "demain"}, "start"),
    ({"title": "x", "start": "2030-05-14T09:30", "end": "2030-05-14T09:00"}, "end"),
    ({"title": "x", "start": "2030-05-14T09:30", "timezone": "Mars/Olympus"}, "timezone"),
    ({"title": "x", "start": "2030-05-14T09:30", "duration_minutes": 0}, "duration_minutes"),
])
def test_create_event_refuses_bad_input(platform, radicale, arguments, field):
    p, browser = platform
    accepted_config(p, browser, "caldav", values(radicale.url), "password")
    answer = run(p, browser, "caldav", "create_event", **arguments)
    assert answer.status_code == 422 and answer.json()["errors"]["field"] == field
    assert radicale.events("alice", "cabinet") == []


def test_tool_schemas_are_strict(platform, radicale):
    from agents.strict_schema import ensure_strict_json_schema

    p, browser = platform
    accepted_config(p, browser, "caldav", values(radicale.url), "password")
    tools = {t["name"]: t for t in browser.get(p.api("/api/v1/tools")).json()["tools"]}
    for name in ("caldav__list_events", "caldav__create_event"):
        schema = tools[name]["parameters"]
        assert schema == ensure_strict_json_schema(schema)
        assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
