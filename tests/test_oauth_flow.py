"""Google Calendar OAuth end to end through the fake Google, as a browser and an operator would."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy import text

from core.oauth import flow

from core.models import OAuthState, UserConnectorCredential, utcnow
from tests.conftest import connect_google

CALENDAR = "/api/v1/connectors/google_calendar"


def _stored_token(platform, user_id):
    with platform.ext("db").session_scope() as session:
        return platform.ext("credentials").load_token(session, user_id, "google_calendar")


def _user_id(platform, sub, org):
    from core.models import User

    with platform.ext("db").session_scope() as session:
        return session.query(User).filter_by(external_id=sub, org_id=org).one().id


def test_connect_lists_calendars_and_stores_tokens_encrypted(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    assert connect_google(platform, alice, fake_google, "alice@example.com") == {"status": "success"}

    status = alice.get(platform.api(CALENDAR)).json()
    assert status["status"] == "active" and status["connected"] is True
    assert status["account"] == "alice@example.com" and status["expires_at"]
    assert set(status["granted_scopes"]) == set(status["scopes"])
    calendars = alice.get(platform.api(CALENDAR + "/calendars")).json()
    assert {c["id"] for c in calendars} == {"alice@example.com", "work-alice@group.calendar.google.com"}

    authorize = fake_google.requests[0]
    assert authorize.query["access_type"] == ["offline"] and authorize.query["prompt"] == ["consent"]
    assert authorize.query["code_challenge_method"] == ["S256"]

    token = _stored_token(platform, _user_id(platform, "alice", "org-a"))
    assert token["refresh_token"]
    with platform.ext("db").engine.connect() as conn:
        raw = conn.execute(text("SELECT access_token, refresh_token FROM user_connector_credentials")).all()
        verifiers = conn.execute(text("SELECT code_verifier FROM oauth_states")).scalars().all()
    dump = repr(raw) + repr(verifiers)
    assert token["access_token"] not in dump and token["refresh_token"] not in dump
    assert all(v.startswith("v1.") for v in verifiers)


def test_two_orgs_two_accounts_never_see_each_other(platform, fake_google):
    alice, bob = platform.browser("same", "org-a"), platform.browser("same", "org-b")
    connect_google(platform, alice, fake_google, "alice@example.com")
    connect_google(platform, bob, fake_google, "bob@example.org")
    assert alice.get(platform.api(CALENDAR)).json()["account"] == "alice@example.com"
    assert bob.get(platform.api(CALENDAR)).json()["account"] == "bob@example.org"
    assert [c["id"] for c in bob.get(platform.api(CALENDAR + "/calendars")).json()] == ["bob@example.org"]
    carol = platform.browser("carol", "org-a")
    assert carol.get(platform.api(CALENDAR)).json()["connected"] is False
    response = carol.get(platform.api(CALENDAR + "/calendars"))
    assert response.status_code == 409 and response.json()["errors"]["reason"] == "not_connected"


def test_redirect_answers_json_when_asked(platform):
    alice = platform.browser("alice", "org-a")
    response = alice.get(platform.api(CALENDAR + "/redirect"), headers={"Accept": "application/json"})
    assert response.status_code == 200
    url = urlparse(response.json()["authorization_url"])
    query = parse_qs(url.query)
    assert query["scope"][0].split() == [
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        "https://www.googleapis.com/auth/calendar.freebusy"]
    cookie = response.cookies.get("connectors_oauth")
    assert cookie and "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]


def _start(platform, browser, fake, email="alice@example.com"):
    started = browser.get(platform.api(CALENDAR + "/redirect"), allow_redirects=False)
    fake.consent_as(email)
    return browser.get(started.headers["Location"], allow_redirects=False).headers["Location"]


def _front_end_params(response):
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["Location"]).query).items()}


def test_denied_consent(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    fake_google.deny_next()
    callback = _start(platform, alice, fake_google)
    assert _front_end_params(alice.get(callback, allow_redirects=False)) == {
        "status": "error", "error": "access_denied"}
    assert alice.get(platform.api(CALENDAR)).json()["connected"] is False


def test_replayed_callback_refused(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    callback = _start(platform, alice, fake_google)
    assert _front_end_params(alice.get(callback, allow_redirects=False))["status"] == "success"
    assert _front_end_params(alice.get(callback, allow_redirects=False)) == {"status": "error", "error": "state_used"}


def test_callback_in_another_browser_attaches_nothing(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    callback = _start(platform, alice, fake_google)
    mallory = platform.browser("mallory", "org-a")
    mallory.get(platform.api(CALENDAR + "/redirect"), allow_redirects=False)  # has a cookie of its own
    assert _front_end_params(mallory.get(callback, allow_redirects=False))["error"] == "browser_mismatch"
    assert mallory.get(platform.api(CALENDAR)).json()["connected"] is False
    assert alice.get(platform.api(CALENDAR)).json()["connected"] is False
    # the state was not consumed by the failed attempt: the rightful browser still finishes
    assert _front_end_params(alice.get(callback, allow_redirects=False))["status"] == "success"


def test_expired_and_forged_state(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    callback = _start(platform, alice, fake_google)
    with platform.ext("db").session_scope() as session:
        session.query(OAuthState).update({"expires_at": utcnow() - timedelta(seconds=1)})
    assert _front_end_params(alice.get(callback, allow_redirects=False))["error"] == "state_expired"
    forged = callback.replace("state=", "state=x")
    assert _front_end_params(alice.get(forged, allow_redirects=False))["error"] == "invalid_state"


def test_wrong_issuer_refused(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    fake_google.issuer = "https://evil.example"
    callback = _start(platform, alice, fake_google)
    assert _front_end_params(alice.get(callback, allow_redirects=False))["error"] == "issuer_mismatch"


def test_unticked_scope_refused(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    fake_google.grant_scopes_next(["https://www.googleapis.com/auth/calendar.calendarlist.readonly"])
    callback = _start(platform, alice, fake_google)
    assert _front_end_params(alice.get(callback, allow_redirects=False))["error"] == "insufficient_scope"
    assert alice.get(platform.api(CALENDAR)).json()["connected"] is False


def test_return_path_only_on_frontend(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    for target, kept in (("/settings/integrations", True), ("https://evil.example/x", False),
                         ("//evil.example", False)):
        started = alice.get(platform.api(CALENDAR + "/redirect"), params={"return_to": target},
                            allow_redirects=False)
        fake_google.consent_as("alice@example.com")
        callback = alice.get(started.headers["Location"], allow_redirects=False).headers["Location"]
        params = _front_end_params(alice.get(callback, allow_redirects=False))
        assert (params.get("return_to") == target) is kept
        assert urlparse(alice.get(callback, allow_redirects=False).headers["Location"]).netloc == "frontend.test"


def test_revoke_at_google_purges_and_disconnects(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    uid = _user_id(platform, "alice", "org-a")
    result = alice.post(platform.api(CALENDAR + "/revoke")).json()
    assert result["revoked_at_provider"] is True and result["connector"]["status"] == "inactive"
    assert fake_google.count("/revoke", method="POST") == 1
    with platform.ext("db").session_scope() as session:
        assert session.query(UserConnectorCredential).filter_by(user_id=uid).count() == 0
    assert alice.get(platform.api(CALENDAR + "/calendars")).status_code == 409


def test_cassius_aliases(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    started = alice.get(platform.url + "/api/integrations/google/connect", allow_redirects=False)
    assert started.status_code == 302
    fake_google.consent_as("alice@example.com")
    callback = alice.get(started.headers["Location"], allow_redirects=False).headers["Location"]
    assert _front_end_params(alice.get(callback, allow_redirects=False))["status"] == "success"
    assert alice.get(platform.url + "/api/integrations/google/status").json()["account"] == "alice@example.com"
    assert len(alice.get(platform.url + "/api/integrations/google/calendars").json()) == 2
    assert alice.post(platform.url + "/api/integrations/google/disconnect").json()["connector"]["connected"] is False


@pytest.mark.parametrize("lock", ["database", "redis"])
def test_concurrent_requests_on_expired_token_refresh_once(start_platform, database_url, fake_google, lock, request):
    from tests.conftest import platform_env

    redis_url = request.getfixturevalue("redis_url") if lock == "redis" else None
    platform = start_platform(platform_env(database_url, fake_google, REDIS_URL=redis_url))
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    old = _stored_token(platform, _user_id(platform, "alice", "org-a"))
    with platform.ext("db").session_scope() as session:
        session.query(UserConnectorCredential).update({"expires_at": utcnow() - timedelta(seconds=5)})
    before = fake_google.refresh_count

    def calendars(_):
        browser = platform.browser("alice", "org-a")
        return browser.get(platform.api(CALENDAR + "/calendars")).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(calendars, range(16))) == {200}
    assert fake_google.refresh_count - before == 1
    new = _stored_token(platform, _user_id(platform, "alice", "org-a"))
    assert new["access_token"] != old["access_token"] and new["refresh_token"] == old["refresh_token"]


def test_rejected_token_refreshed_once_then_retried(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    fake_google.expire_access_tokens()
    before = fake_google.refresh_count
    assert alice.get(platform.api(CALENDAR + "/calendars")).status_code == 200
    assert fake_google.refresh_count - before == 1


def test_revoked_grant_marks_needs_reauth(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    fake_google.revoke_grant("alice@example.com")
    response = alice.get(platform.api(CALENDAR + "/calendars"))
    assert response.status_code == 409 and response.json()["errors"]["reason"] == "needs_reauth"
    status = alice.get(platform.api(CALENDAR)).json()
    assert status["status"] == "needs_reauth" and "reconnect" in status["last_error"]
    assert connect_google(platform, alice, fake_google, "alice@example.com")["status"] == "success"
    assert alice.get(platform.api(CALENDAR)).json()["status"] == "active"


def test_ciphertext_swapped_between_users_fails(platform, fake_google):
    from core.crypto import DecryptionError

    alice, bob = platform.browser("alice", "org-a"), platform.browser("bob", "org-b")
    connect_google(platform, alice, fake_google, "alice@example.com")
    connect_google(platform, bob, fake_google, "bob@example.org")
    with platform.ext("db").session_scope() as session:
        a, b = session.query(UserConnectorCredential).order_by(UserConnectorCredential.user_id).all()
        b.access_token = a.access_token
    with platform.ext("db").session_scope() as session:
        row = platform.ext("credentials").row(session, b.user_id, "google_calendar")
        try:
            platform.ext("credentials").open(row, "access_token")
            raise AssertionError("a copied ciphertext must not decrypt")
        except DecryptionError:
            pass
    with pytest.raises(DecryptionError):  # nor through the read every provider call makes
        platform.ext("credentials").access_token(b.user_id, "google_calendar")


def test_access_token_follows_the_connection(platform, fake_google):
    from core.errors import NeedsReauth, NotConnected
    from core.models import UserConnector

    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    user_id, store = _user_id(platform, "alice", "org-a"), platform.ext("credentials")
    assert store.access_token(user_id, "google_calendar") == _stored_token(platform, user_id)["access_token"]
    with pytest.raises(NotConnected):  # a connector the user never connected
        store.access_token(user_id, "gmail")

    def change(**values):
        with platform.ext("db").session_scope() as session:
            session.query(UserConnector).filter_by(user_id=user_id, connector_code="google_calendar").update(values)

    change(status="needs_reauth", last_error="Reconnect: the grant was revoked.")
    with pytest.raises(NeedsReauth, match="the grant was revoked"):
        store.access_token(user_id, "google_calendar")
    change(status="inactive")
    with pytest.raises(NotConnected):
        store.access_token(user_id, "google_calendar")
    change(status="active")
    with platform.ext("db").session_scope() as session:  # the connection stands, its secrets are gone
        session.query(UserConnectorCredential).filter_by(user_id=user_id).delete()
    with pytest.raises(NotConnected):
        store.access_token(user_id, "google_calendar")


def test_no_secret_in_logs(platform, fake_google, caplog):
    caplog.set_level(logging.DEBUG)
    alice = platform.browser("alice", "org-a")
    started = alice.get(platform.api(CALENDAR + "/redirect"), allow_redirects=False)
    with platform.ext("db").session_scope() as session:
        state = session.query(OAuthState).one()
        from core.crypto import associated_data
        verifier = platform.ext("cipher").decrypt(state.code_verifier, associated_data(
            "oauth_states", "code_verifier", state.user_id, "google_calendar"))
    fake_google.consent_as("alice@example.com")
    callback = alice.get(started.headers["Location"], allow_redirects=False).headers["Location"]
    code = parse_qs(urlparse(callback).query)["code"][0]
    alice.get(callback, allow_redirects=False)
    fake_google.expire_access_tokens()
    alice.get(platform.api(CALENDAR + "/calendars"))
    token = _stored_token(platform, _user_id(platform, "alice", "org-a"))
    alice.post(platform.api(CALENDAR + "/revoke"))
    secrets = [verifier, code, "test-secret", alice.headers["Authorization"].split()[1],
               token["access_token"], token["refresh_token"]]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records
    for secret in secrets:
        assert secret not in logged


def test_adding_scopes_needs_a_provider_that_can(configured_platform):
    """Only a provider declaring ``incremental_params`` is asked for scopes alone; others connect again in full."""
    alice = configured_platform.browser("alice", "org-a")
    refused = alice.get(configured_platform.api("/api/v1/connectors/slack/redirect"),
                        params={"scopes": "chat:write"}, allow_redirects=False)
    assert refused.status_code == 400
    assert refused.json()["message"] == ("Slack ne peut pas ajouter d'autorisations à une connexion : "
                                         "connectez-vous à nouveau.")
    assert alice.get(configured_platform.api("/api/v1/connectors/slack/redirect"),
                     allow_redirects=False).status_code == 302


def test_one_table_of_callback_words(platform):
    """Every error code the callback can send has its words in one table, shown translated."""
    core = Path(flow.__file__).resolve().parent.parent
    sent = set(re.findall(r'FlowError\(\s*"(\w+)"', (core / "oauth" / "flow.py").read_text()))
    sent |= set(re.findall(r'"error": "(\w+)"', (core / "api" / "connectors.py").read_text()))
    assert {"invalid_state", "exchange_failed", "account_lookup_failed"} <= sent
    assert sent | {"access_denied", "provider_error"} <= set(flow.MESSAGES)
    assert "CALLBACK_ERRORS" not in (core / "web.py").read_text()
    page = requests.get(platform.url + "/connectors/callback/google_calendar",
                        params={"status": "error", "error": "provider_error"}, timeout=10)
    assert "Le service n’a pas pu terminer la connexion. Réessayez." in page.text
