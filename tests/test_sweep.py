"""The generated tenancy sweep: every operation of the OpenAPI document, called with one user's ids
by another organization's user and by another member of the same organization.

The operations come from ``/api/v1/openapi.json`` itself, so a new route is swept without anyone
remembering it; an operation whose path parameters the sweep cannot fill with the victim's ids,
or an ``/api`` route that is neither documented nor listed as an alias, fails the test. For each
call: no 5xx, none of the victim's private values in the answer, and — compared over the whole
database, table by table — no change to anything of the victim's (the callers' own rows, such as
the user row made on first sight or the OAuth state a redirect creates, are theirs to change).
"""
from __future__ import annotations

import json
import re

import requests
from sqlalchemy import MetaData, select

from tests.conftest import connect_google
from tests.sync.conftest import APPOINTMENTS, new_appointment

VICTIM = ("alice", "org-a")
OTHER_ORG = ("alice", "org-evil")  # the same subject in another organization
SAME_ORG = ("mallory", "org-a")
#: Private values of the victim; ``TITLE`` may be read by members of the same organization.
PRIVATE = ("alice@example.com", "work-alice")
TITLE = "Alice's private consultation"
#: ``/api`` routes kept out of the document on purpose: the Cassius front end's aliases, swept too.
ALIASES = {("GET", "/api/integrations/google/connect"), ("GET", "/api/integrations/google/callback"),
           ("GET", "/api/integrations/google/status"), ("GET", "/api/integrations/google/calendars"),
           ("POST", "/api/integrations/google/disconnect"), ("DELETE", "/api/integrations/google/disconnect"),
           ("POST", "/api/integrations/google/sync-now")}
#: A sample for each format a documented string may have.
SAMPLES = {"date-time": "2030-05-02T10:00:00+00:00", "email": "x@example.com", "url": "https://example.com/"}


def sample(schema: dict, components: dict):
    """A small schema-valid value of ``schema`` (required properties only), to send as a body."""
    if "$ref" in schema:
        return sample(components[schema["$ref"].rsplit("/", 1)[1]], components)
    kind = schema.get("type", "object")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {})
        wanted = schema.get("required") or list(properties)[:1]
        return {name: sample(properties[name], components) for name in wanted if name in properties}
    if kind == "array":
        return []
    return {"string": SAMPLES.get(schema.get("format"), "x"), "integer": 1, "number": 1, "boolean": True}.get(kind)


def operations(document: dict):
    """``(method, path template, operation)`` for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def fill(path: str, ids: dict) -> str:
    """``path`` with each ``{parameter}`` replaced by the victim's value for it (KeyError if none)."""
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        value = ids[name](path) if callable(ids[name]) else ids[name]
        path = path.replace("{" + name + "}", str(value))
    return path


def snapshot(platform, ignored_users: set[int]) -> dict:
    """Every row of every table, except the rows that belong to ``ignored_users``."""
    engine = platform.ext("db").engine
    metadata = MetaData()
    metadata.reflect(engine)
    rows = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            owner = next((c for c in ("user_id", "owner_user_id") if c in table.c), None)
            kept = []
            for row in connection.execute(select(table)).mappings():
                if owner and row[owner] in ignored_users:
                    continue
                if table.name == "users" and row["id"] in ignored_users:
                    continue
                kept.append(json.dumps(dict(row), default=str, sort_keys=True))
            rows[table.name] = sorted(kept)
    return rows


def user_id(platform, sub: str, org: str) -> int:
    from core.models import User

    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id=sub, org_id=org).one().id


def test_every_documented_operation_as_another_org_and_another_member(configured_platform, fake_google):
    platform = configured_platform
    victim = platform.browser(*VICTIM)
    connect_google(platform, victim, fake_google, "alice@example.com")
    mine = new_appointment(platform, victim, TITLE)
    events_before = fake_google.events("alice@example.com")
    ids = {"key": "google_calendar", "appointment_id": mine["id"],
           "name": lambda path: "google_calendar__list_events" if path.startswith("/api/v1/tools/") else "list_events"}
    document = requests.get(platform.api("/api/v1/openapi.json"), timeout=10).json()
    components = document["components"]["schemas"]

    calls, uncovered = [], []
    for method, path, operation in operations(document):
        try:
            url = fill(path, ids)
        except KeyError as missing:
            uncovered.append(f"{method} {path}: no value for {missing}")
            continue
        body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        calls.append((method, path, url, sample(body_schema, components) if body_schema else None))
    documented = {(method, path) for method, path, _ in operations(document)}
    routes = {(method, re.sub(r"<(?:[^>]*:)?([^:>]+)>", r"{\1}", rule.rule))
              for rule in platform.app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    undocumented = {route for route in routes if route not in documented and route not in ALIASES
                    and not route[1].startswith("/api/v1/openapi.json") and not route[1].startswith("/api/v1/docs")}
    assert not uncovered and not undocumented, (uncovered, undocumented)
    calls += [(method, path, path, None) for method, path in sorted(ALIASES)]

    attackers = {"another organization": platform.browser(*OTHER_ORG), "another member": platform.browser(*SAME_ORG)}
    for attacker in attackers.values():
        assert attacker.get(platform.api("/api/v1/connectors")).status_code == 200  # their user rows exist now
    ignored = {user_id(platform, *OTHER_ORG), user_id(platform, *SAME_ORG)}
    before = snapshot(platform, ignored)
    answered = 0
    for who, attacker in attackers.items():
        for method, path, url, body in calls:
            answer = attacker.request(method, platform.api(url), json=body, allow_redirects=False)
            answered += 1
            assert answer.status_code < 500, (who, method, path, answer.text)
            private = PRIVATE if who == "another member" and method == "GET" and path.startswith(APPOINTMENTS) \
                else (*PRIVATE, TITLE)
            for value in private:
                assert value not in answer.text, (who, method, path, value)
            assert snapshot(platform, ignored) == before, (who, method, path)
    assert answered == 2 * len(calls) and len(calls) >= 20
    assert fake_google.events("alice@example.com") == events_before
    assert victim.get(platform.api(f"{APPOINTMENTS}/{mine['id']}")).json()["title"] == TITLE
    assert victim.get(platform.api("/api/v1/connectors/google_calendar")).json()["account"] == "alice@example.com"
