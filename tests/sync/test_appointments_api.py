"""The appointments API: validation, tenancy, pagination and filters (no Google involved)."""
from __future__ import annotations

import pytest

from tests.sync.conftest import APPOINTMENTS, new_appointment

GOOD = {"title": "Checkup", "starts_at": "2030-01-01T09:00:00+00:00", "ends_at": "2030-01-01T09:30:00+00:00"}


@pytest.fixture
def api_platform(start_platform, database_url):
    """The platform without Google, on SQLite and on PostgreSQL."""
    from tests.conftest import platform_env

    return start_platform(platform_env(database_url))


@pytest.mark.parametrize("change, field", [
    ({"ends_at": "2030-01-01T08:00:00+00:00"}, "ends_at"),
    ({"ends_at": "2030-03-01T08:00:00+00:00"}, "ends_at"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"title": ""}, "title"),
    ({"title": "x" * 501}, "title"),
    ({"starts_at": "2030-01-01T09:00:00"}, "starts_at"),
    ({"colour": "red"}, "colour"),
    ({"status": "maybe"}, "status"),
])
def test_invalid_input_is_a_422_naming_the_field(api_platform, change, field):
    alice = api_platform.browser("alice", "org-a")
    response = alice.post(api_platform.api(APPOINTMENTS), json={**GOOD, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == 422 and field in body["errors"]["json"]


def test_patch_validates_the_merged_appointment(api_platform):
    alice = api_platform.browser("alice", "org-a")
    created = alice.post(api_platform.api(APPOINTMENTS), json=GOOD).json()
    response = alice.patch(api_platform.api(f"{APPOINTMENTS}/{created['id']}"),
                           json={"starts_at": "2030-01-01T10:00:00+00:00"})
    assert response.status_code == 422 and "ends_at" in response.json()["errors"]["json"]
    assert alice.patch(api_platform.api(f"{APPOINTMENTS}/{created['id']}"), json={}).status_code == 422
    same = alice.patch(api_platform.api(f"{APPOINTMENTS}/{created['id']}"), json={"title": "Checkup"})
    assert same.json()["version"] == 1
    assert alice.get(api_platform.api(f"{APPOINTMENTS}/{created['id']}")).json()["version"] == 1


def test_tenancy_pagination_and_filters(api_platform):
    alice, bob = api_platform.browser("alice", "org-a"), api_platform.browser("bob", "org-a")
    mallory = api_platform.browser("mallory", "org-b")
    made = [new_appointment(api_platform, alice, f"A{n}", hour=8 + n) for n in range(5)]
    new_appointment(api_platform, bob, "B0", hour=7)
    alice.delete(api_platform.api(f"{APPOINTMENTS}/{made[4]['id']}"))

    page = alice.get(api_platform.api(APPOINTMENTS), params={"page": 1, "page_size": 2})
    assert [a["title"] for a in page.json()] == ["B0", "A0"]
    assert '"total": 6' in page.headers["X-Pagination"]
    mine = alice.get(api_platform.api(APPOINTMENTS), params={"mine": "true", "status": "scheduled"}).json()
    assert [a["title"] for a in mine] == ["A0", "A1", "A2", "A3"] and mine[0]["owner"] == "alice"
    window = alice.get(api_platform.api(APPOINTMENTS), params={
        "starts_from": "2030-05-01T09:00:00+00:00", "starts_before": "2030-05-01T11:00:00+00:00"}).json()
    assert [a["title"] for a in window] == ["A1", "A2"]

    assert mallory.get(api_platform.api(APPOINTMENTS)).json() == []
    for method in ("get", "patch", "delete"):
        response = getattr(mallory, method)(api_platform.api(f"{APPOINTMENTS}/{made[0]['id']}"), json={"title": "x"})
        assert response.status_code == 404 and response.json()["code"] == 404
    assert alice.get(api_platform.api(APPOINTMENTS)).status_code == 200
    assert api_platform.browser().get(api_platform.api(APPOINTMENTS)).status_code == 401


def test_cancel_is_idempotent_and_restore_bumps_version(api_platform):
    alice = api_platform.browser("alice", "org-a")
    created = new_appointment(api_platform, alice)
    first = alice.delete(api_platform.api(f"{APPOINTMENTS}/{created['id']}")).json()
    again = alice.delete(api_platform.api(f"{APPOINTMENTS}/{created['id']}")).json()
    assert first["status"] == again["status"] == "cancelled" and first["version"] == again["version"] == 2
    restored = alice.patch(api_platform.api(f"{APPOINTMENTS}/{created['id']}"), json={"status": "scheduled"})
    assert restored.json()["version"] == 3 and restored.json()["sync_status"] == "pending"
