"""Check FakeGoogle against the real clients: google-api-python-client and plain ``requests``."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.fakes.google import CALENDAR_SCOPE, FakeGoogle

ALICE, BOB = "alice@example.com", "bob@example.com"
WORK = "work@group.calendar.google.com"
REDIRECT_URI = "https://app.example.com/oauth/callback"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
CALENDARLIST_SCOPE = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
EVENT = {
    "summary": "Standup",
    "start": {"dateTime": "2030-01-01T10:00:00Z"},
    "end": {"dateTime": "2030-01-01T10:15:00Z"},
}


@pytest.fixture
def google():
    with FakeGoogle() as fake:
        fake.add_account(ALICE, calendars=[{"id": WORK, "summary": "Work"}])
        fake.add_account(BOB, calendars=[{"id": "shared@group.calendar.google.com", "summary": "Team", "accessRole": "reader"}])
        yield fake


def calendar(fake: FakeGoogle, token: str):
    """A Calendar service built from the bundled discovery document, pointed at the fake."""
    return build(
        "calendar",
        "v3",
        credentials=Credentials(token),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": fake.url + "/calendar/v3/"},
    )


@pytest.fixture
def service(google):
    return calendar(google, google.issue_token(ALICE)["access_token"])


def error_reason(error: HttpError) -> str:
    return json.loads(error.content)["error"]["errors"][0]["reason"]


def api(fake: FakeGoogle, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{fake.url}/calendar/v3/{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(fake: FakeGoogle, challenge: str, scope: str = CALENDAR_SCOPE, **extra: str) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": "test-client",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "access_type": "offline",
        "prompt": "consent",
        **extra,
    }
    return requests.get(fake.env()["GOOGLE_AUTH_URI"], params=params, allow_redirects=False)


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_event_lifecycle(google, service):
    events = service.events()
    created = events.insert(
        calendarId="primary", sendUpdates="none", body={**EVENT, "id": "evt00001", "extendedProperties": {"private": {"app": "1"}}}
    ).execute()
    assert created["id"] == "evt00001" and created["status"] == "confirmed"
    assert events.get(calendarId=ALICE, eventId="evt00001").execute()["summary"] == "Standup"

    patched = events.patch(
        calendarId="primary", eventId="evt00001", body={"summary": "Daily", "extendedProperties": {"private": {"b": "2"}}}
    ).execute()
    assert patched["summary"] == "Daily" and patched["start"] == EVENT["start"]
    assert patched["extendedProperties"]["private"] == {"app": "1", "b": "2"}
    assert patched["etag"] != created["etag"]

    assert events.delete(calendarId="primary", eventId="evt00001").execute() == ""
    with pytest.raises(HttpError) as deleted:
        events.delete(calendarId="primary", eventId="evt00001").execute()
    assert deleted.value.status_code == 410 and error_reason(deleted.value) == "deleted"
    with pytest.raises(HttpError) as duplicate:
        events.insert(calendarId="primary", body={**EVENT, "id": "evt00001"}).execute()
    assert duplicate.value.status_code == 409 and error_reason(duplicate.value) == "duplicate"
    with pytest.raises(HttpError) as missing:
        events.delete(calendarId="primary", eventId="nosuchevent").execute()
    assert missing.value.status_code == 404 and error_reason(missing.value) == "notFound"
    assert google.events(ALICE) == []
    assert google.events(ALICE, include_deleted=True)[0]["status"] == "cancelled"

    events.patch(calendarId="primary", eventId="evt00001", body={"status": "confirmed"}).execute()
    assert [e["id"] for e in events.list(calendarId="primary").execute()["items"]] == ["evt00001"]

    updated = events.update(calendarId="primary", eventId="evt00001", body={**EVENT, "summary": "New"}).execute()
    assert updated["summary"] == "New" and "extendedProperties" not in updated
    generated = events.insert(calendarId=WORK, body=EVENT).execute()
    assert google.events(ALICE, WORK)[0]["id"] == generated["id"]


def test_calendar_list(google, service):
    items = service.calendarList().list().execute()["items"]
    assert [(c["id"], c.get("primary", False)) for c in items] == [(ALICE, True), (WORK, False)]
    assert service.calendarList().get(calendarId="primary").execute()["id"] == ALICE
    with pytest.raises(HttpError) as error:
        service.calendarList().get(calendarId="nope@group.calendar.google.com").execute()
    assert error.value.status_code == 404


def test_accounts_are_isolated(google, service):
    service.events().insert(calendarId="primary", body={**EVENT, "id": "alice0001"}).execute()
    bob = calendar(google, google.issue_token(BOB)["access_token"])
    with pytest.raises(HttpError) as error:
        bob.events().get(calendarId=ALICE, eventId="alice0001").execute()
    assert error.value.status_code == 404
    assert bob.events().list(calendarId="primary").execute()["items"] == []
    with pytest.raises(HttpError) as read_only:
        bob.events().insert(calendarId="shared@group.calendar.google.com", body=EVENT).execute()
    assert read_only.value.status_code == 403 and error_reason(read_only.value) == "requiredAccessLevel"
    assert [e["id"] for e in google.events(ALICE)] == ["alice0001"] and google.events(BOB) == []


def test_authentication_errors(google, service):
    token = google.issue_token(ALICE)["access_token"]
    assert api(google, "GET", "users/me/calendarList", token).status_code == 200
    google.expire_access_tokens()
    for bad_token in (token, "bogus"):
        response = api(google, "GET", "users/me/calendarList", bad_token)
        assert response.status_code == 401 and response.json()["error"]["errors"][0]["reason"] == "authError"
    assert requests.get(f"{google.url}/calendar/v3/users/me/calendarList").status_code == 401
    with pytest.raises(RefreshError):  # on a 401 google-auth tries to refresh, and a bare token cannot
        service.calendarList().list().execute()

    narrow = calendar(google, google.issue_token(ALICE, scopes=[EVENTS_SCOPE])["access_token"])
    with pytest.raises(HttpError) as error:
        narrow.calendarList().list().execute()
    assert error.value.status_code == 403 and error_reason(error.value) == "insufficientPermissions"


def test_requests_are_validated_against_discovery(google, service):
    token = google.issue_token(ALICE)["access_token"]
    with pytest.raises(HttpError) as bad_id:
        service.events().insert(calendarId="primary", body={**EVENT, "id": "UPPER_CASE"}).execute()
    assert bad_id.value.status_code == 400 and error_reason(bad_id.value) == "invalid"
    with pytest.raises(HttpError) as no_end:
        service.events().insert(calendarId="primary", body={"summary": "x", "start": EVENT["start"]}).execute()
    assert no_end.value.status_code == 400 and error_reason(no_end.value) == "required"

    assert api(google, "GET", "calendars/primary/events", token, params={"bogus": "1"}).status_code == 400
    assert api(google, "GET", "calendars/primary/events", token, params={"orderBy": "title"}).status_code == 400
    assert api(google, "GET", "calendars/primary/events", token, params={"timeMin": "2030-01-01"}).status_code == 400
    assert api(google, "GET", "calendars/primary/events", token, params={"maxResults": "0"}).status_code == 400
    unknown_field = api(google, "POST", "calendars/primary/events", token, json={**EVENT, "colour": "1"})
    assert unknown_field.status_code == 400 and "colour" in unknown_field.json()["error"]["message"]
    nested = api(google, "POST", "calendars/primary/events", token, json={**EVENT, "start": {"when": "now"}})
    assert nested.status_code == 400
    assert api(google, "GET", "calendars/primary/nothing", token).status_code == 404
    assert api(google, "GET", "calendars/primary/acl", token).status_code == 501


def test_events_list_filters(google, service):
    events = service.events()
    for n, (day, app) in enumerate([("03", "a"), ("01", "b"), ("02", "a")]):
        body = {
            "id": f"event{n:04d}",
            "start": {"dateTime": f"2030-01-{day}T10:00:00Z"},
            "end": {"dateTime": f"2030-01-{day}T11:00:00Z"},
            "extendedProperties": {"private": {"app": app}},
        }
        events.insert(calendarId="primary", body=body).execute()
    events.delete(calendarId="primary", eventId="event0002").execute()

    def ids(**params):
        return [e["id"] for e in events.list(calendarId="primary", **params).execute()["items"]]

    assert ids() == ["event0000", "event0001"]
    assert ids(showDeleted=True) == ["event0000", "event0001", "event0002"]
    assert ids(privateExtendedProperty="app=a") == ["event0000"]
    assert ids(singleEvents=True, orderBy="startTime", showDeleted=True) == ["event0001", "event0002", "event0000"]
    assert ids(timeMin="2030-01-02T00:00:00Z", timeMax="2030-01-03T10:00:00Z", showDeleted=True) == ["event0002"]
    with pytest.raises(HttpError) as error:
        events.list(calendarId="primary", orderBy="startTime").execute()
    assert error.value.status_code == 400

    first = events.list(calendarId="primary", maxResults=1).execute()
    second = events.list(calendarId="primary", maxResults=1, pageToken=first["nextPageToken"]).execute()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == ["event0000", "event0001"]
    events.patch(calendarId="primary", eventId="event0001", body={"summary": "changed"}).execute()
    assert ids(syncToken=second["nextSyncToken"]) == ["event0001"]


def test_batch(google, service):
    results = {}
    batch = BatchHttpRequest(
        callback=lambda request_id, response, error: results.update({request_id: error or response}),
        batch_uri=google.url + "/batch/calendar/v3",
    )
    batch.add(service.events().insert(calendarId="primary", body={**EVENT, "id": "batch0001"}), request_id="one")
    batch.add(service.events().insert(calendarId="primary", body={**EVENT, "id": "batch0001"}), request_id="dup")
    batch.add(service.events().delete(calendarId="primary", eventId="batch0001"), request_id="del")
    batch.add(service.calendarList().get(calendarId="primary"), request_id="cal")
    batch.execute()

    assert results["one"]["id"] == "batch0001"
    assert isinstance(results["dup"], HttpError) and results["dup"].status_code == 409
    assert results["del"] == "" and results["cal"]["id"] == ALICE
    assert google.calendar_calls == 4 and google.count("/batch/calendar/v3", "POST") == 1

    google.quota_user_per_min = 5
    google.inject(503, path_contains="/events")
    results.clear()
    batch = BatchHttpRequest(
        callback=lambda request_id, response, error: results.update({request_id: error or response}),
        batch_uri=google.url + "/batch/calendar/v3",
    )
    for n in range(3):
        batch.add(service.events().insert(calendarId="primary", body={**EVENT, "id": f"quota{n:04d}"}), request_id=str(n))
    batch.execute()
    assert results["0"].status_code == 503 and results["1"]["id"] == "quota0001"
    assert results["2"].status_code == 403 and error_reason(results["2"]) == "rateLimitExceeded"
    assert google.calendar_calls == 7 and google.quota_errors == 1


def test_quotas(google, service):
    google.quota_user_per_min = 2
    google.quota_window = 0.2
    service.calendarList().list().execute()
    service.calendarList().list().execute()
    with pytest.raises(HttpError) as error:
        service.calendarList().list().execute()
    assert error.value.status_code == 403 and error_reason(error.value) == "rateLimitExceeded"
    bob = calendar(google, google.issue_token(BOB)["access_token"])
    bob.calendarList().list().execute()  # another user has their own budget

    google.quota_project_per_min = 3
    with pytest.raises(HttpError) as error:
        bob.calendarList().list().execute()
    body = json.loads(error.value.content)["error"]["errors"][0]
    assert (body["reason"], body["domain"]) == ("rateLimitExceeded", "usageLimits")
    assert google.quota_errors == 2

    time.sleep(0.25)  # the sliding window has moved on
    service.calendarList().list().execute()


def test_injected_faults(google, service):
    google.inject(503, path_contains="/calendarList", headers={"Retry-After": "1"})
    with pytest.raises(HttpError) as error:
        service.calendarList().list().execute()
    assert error.value.status_code == 503 and error.value.resp["retry-after"] == "1"
    assert error_reason(error.value) == "backendError"
    service.calendarList().list().execute()

    google.inject(500, times=2, body="oops")
    assert [requests.get(google.url + "/anything").status_code for _ in range(3)] == [500, 500, 404]
    assert google.count("/anything") == 3 and google.requests[-1].method == "GET"


def test_latency(google):
    google.latency = 0.05
    started = time.monotonic()
    requests.get(google.url + "/anything")
    assert time.monotonic() - started >= 0.05


def test_oauth_round_trip(google):
    env = google.env()
    verifier, challenge = pkce()
    params = callback_params(authorize(google, challenge, scope=f"{CALENDARLIST_SCOPE} {EVENTS_SCOPE}"))
    assert params["state"] == "xyz" and params["iss"] == "https://accounts.google.com"
    assert params["scope"] == f"{CALENDARLIST_SCOPE} {EVENTS_SCOPE}"
    assert google.authorize_params[-1]["access_type"] == "offline"

    exchange = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI}
    client = {"client_id": "test-client", "client_secret": "test-secret"}
    token = requests.post(env["GOOGLE_TOKEN_URI"], data={**exchange, **client, "code_verifier": verifier}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3599
    assert token["scope"] == f"{CALENDARLIST_SCOPE} {EVENTS_SCOPE}" and token["refresh_token"]
    reused = requests.post(env["GOOGLE_TOKEN_URI"], data={**exchange, **client, "code_verifier": verifier})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert calendar(google, token["access_token"]).calendarList().list().execute()["items"][0]["id"] == ALICE

    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    refreshed = requests.post(env["GOOGLE_TOKEN_URI"], data=refresh, auth=("test-client", "test-secret")).json()
    assert refreshed["access_token"] != token["access_token"] and "refresh_token" not in refreshed

    assert requests.post(env["GOOGLE_REVOKE_URI"], data={"token": refreshed["access_token"]}).status_code == 200
    failed = requests.post(env["GOOGLE_TOKEN_URI"], data={**refresh, **client})
    assert failed.status_code == 400
    assert failed.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    assert google.refresh_count == 2
    assert api(google, "GET", "users/me/calendarList", token["access_token"]).status_code == 401
    again = requests.post(env["GOOGLE_REVOKE_URI"], data={"token": token["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"


def test_oauth_failures(google):
    token_uri = google.env()["GOOGLE_TOKEN_URI"]
    verifier, challenge = pkce()
    assert authorize(google, challenge, code_challenge_method="plain").status_code == 400
    assert authorize(google, challenge, client_id="other").status_code == 400
    assert authorize(google, "", state="s").status_code == 400

    google.deny_next()
    assert callback_params(authorize(google, challenge)) == {"error": "access_denied", "state": "xyz"}

    google.consent_as(BOB)
    google.grant_scopes_next([EVENTS_SCOPE])
    params = callback_params(authorize(google, challenge, scope=f"{CALENDARLIST_SCOPE} {EVENTS_SCOPE}", prompt="none"))
    assert params["scope"] == EVENTS_SCOPE
    form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI}
    bad_verifier = requests.post(token_uri, data={**form, "code_verifier": "x" * 43}, auth=("test-client", "test-secret"))
    assert bad_verifier.json()["error"] == "invalid_grant"

    params = callback_params(authorize(google, challenge, prompt="none"))
    form["code"] = params["code"]
    assert requests.post(token_uri, data={**form, "code_verifier": verifier}, auth=("test-client", "wrong")).status_code == 401
    params = callback_params(authorize(google, challenge, prompt="none"))
    form["code"] = params["code"]
    wrong_redirect = {**form, "redirect_uri": "https://evil.example.com/", "code_verifier": verifier}
    assert requests.post(token_uri, data=wrong_redirect, auth=("test-client", "test-secret")).status_code == 400
    params = callback_params(authorize(google, challenge, prompt="none"))
    form["code"] = params["code"]
    token = requests.post(token_uri, data={**form, "code_verifier": verifier}, auth=("test-client", "test-secret")).json()
    assert "refresh_token" not in token  # prompt=consent was not given

    alice = calendar(google, token["access_token"])
    assert alice.calendarList().get(calendarId="primary").execute()["id"] == ALICE  # consent_as is one-shot
    assert google.revoke_grant(ALICE) == 1
    assert api(google, "GET", "users/me/calendarList", token["access_token"]).status_code == 401


def test_refresh_token_limit(google):
    google.refresh_token_limit = 2
    first, second, third = (google.issue_token(ALICE)["refresh_token"] for _ in range(3))
    assert google.refresh_tokens(ALICE) == [second, third]
    refresh = {"grant_type": "refresh_token", "refresh_token": first, "client_id": "test-client", "client_secret": "test-secret"}
    assert requests.post(google.env()["GOOGLE_TOKEN_URI"], data=refresh).json()["error"] == "invalid_grant"
