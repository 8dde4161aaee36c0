"""Regression tests of the hardening findings: each one failed before its fix."""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.oauth.flow import safe_return_path
from tests.conftest import FRONTEND, connect_google, platform_env
from tests.sync.conftest import APPOINTMENTS, CALENDAR, CONNECTORS, new_appointment

EVIL = "https://evil.example"


# ------------------------------------------------------------------ open redirect


@pytest.mark.parametrize("value, kept", [
    ("/settings/integrations?tab=google#top", "/settings/integrations?tab=google#top"),
    (FRONTEND + "/connectors?x=1", "/connectors?x=1"),
    ("/\\evil.example", None), ("/\\/evil.example", None), ("\\\\evil.example", None),
    ("//evil.example", None), ("/\t/evil.example", None), ("/\n/evil.example", None), ("/%00", "/%00"),
    ("https://evil.example/", None), ("http:evil.example", None), ("javascript:alert(1)", None),
    ("/caf\u00e9", None), ("/" + "a" * 2048, None), ("relative/path", None), ("", None), (None, None),
])
def test_return_path_is_parsed_and_normalised(value, kept):
    assert safe_return_path(value, FRONTEND) == kept


def test_backslash_return_path_never_leaves_the_site(platform, fake_google):
    page = requests.get(platform.url + "/connectors/callback/google_calendar",
                        params={"status": "success", "return_to": "/\\evil.example"}, timeout=10)
    assert page.status_code == 200
    assert "evil.example" not in page.text and 'href="/settings/integrations/google-calendar"' in page.text

    alice = platform.browser("alice", "org-a")
    for hostile in ("/\\evil.example", "/" + "x" * 3000):
        started = alice.get(platform.api(CALENDAR + "/redirect"), params={"return_to": hostile}, allow_redirects=False)
        assert started.status_code == 302
        fake_google.consent_as("alice@example.com")
        callback = alice.get(started.headers["Location"], allow_redirects=False).headers["Location"]
        back = urlparse(alice.get(callback, allow_redirects=False).headers["Location"])
        assert f"{back.scheme}://{back.netloc}" == FRONTEND
        assert parse_qs(back.query) == {"status": ["success"]}


# ------------------------------------------------------------------ cross-site requests


def test_cookie_writes_need_our_origin_bearer_writes_do_not(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    for cross_site in (platform.cookie_browser("alice", "org-a", origin=EVIL),
                       platform.cookie_browser("alice", "org-a", origin="null")):
        for method, path, body in (("POST", CALENDAR + "/revoke", None), ("POST", "/api/integrations/google/disconnect", None),
                                   ("DELETE", "/api/integrations/google/disconnect", None),
                                   ("POST", CALENDAR + "/sync-now", None), ("POST", "/api/v1/realtime/client-secret", None),
                                   ("POST", APPOINTMENTS, {"title": "x"})):
            answer = cross_site.request(method, platform.api(path), json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["errors"] == {"reason": "cross_site_request"}
    no_header = requests.Session()
    no_header.cookies.set("session", platform.token("alice", "org-a"))
    assert no_header.post(platform.api(CALENDAR + "/revoke")).status_code == 403
    fetch_metadata = requests.Session()
    fetch_metadata.cookies.set("session", platform.token("alice", "org-a"))
    assert fetch_metadata.post(platform.api(CALENDAR + "/sync-now"),
                               headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert alice.get(platform.api(CALENDAR)).json()["connected"] is True

    assert fetch_metadata.post(platform.api(CALENDAR + "/sync-now"),
                               headers={"Sec-Fetch-Site": "same-origin"}).status_code == 202
    assert fetch_metadata.get(platform.api(CALENDAR), headers={"Origin": EVIL}).status_code == 200  # reads pass
    own_page = platform.cookie_browser("alice", "org-a")
    assert own_page.post(platform.api(CALENDAR + "/sync-now")).status_code == 202
    bearer = platform.browser("alice", "org-a")
    assert bearer.post(platform.api(CALENDAR + "/sync-now"), headers={"Origin": EVIL}).status_code == 202


def test_a_form_body_is_refused_not_read_as_empty_json(platform):
    alice = platform.browser("alice", "org-a")
    for path in ("/api/v1/tools/list_connectors/invoke", CALENDAR + "/actions/list_events", APPOINTMENTS,
                 "/api/v1/connectors/smtp/config"):
        answer = alice.post(platform.api(path), data={"a": "b"})
        assert answer.status_code == 415, (path, answer.text)
        assert answer.json()["errors"] == {"reason": "unsupported_media_type"}
    not_json = alice.post(platform.api("/api/v1/tools/list_connectors/invoke"), data="{",
                          headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["errors"] == {"reason": "invalid_json"}
    assert alice.post(platform.api("/api/v1/tools/list_connectors/invoke")).json()["ok"] is True  # no body: {}


# ------------------------------------------------------------------ appointment writes


@pytest.fixture
def roles_platform(start_platform, database_url, fake_google):
    return start_platform(platform_env(database_url, fake_google, JWT_ROLE_CLAIM="cassius_roles",
                                       APPOINTMENT_WRITE_ROLES="manager, secretary"))


def test_only_the_owner_or_a_configured_role_changes_an_appointment(roles_platform):
    p = roles_platform
    alice = p.browser("alice", "org-a")
    mine = new_appointment(p, alice, "Alice's consultation")
    item = p.api(f"{APPOINTMENTS}/{mine['id']}")
    assert mine["can_edit"] is True

    colleague = p.browser("bob", "org-a")
    seen = colleague.get(item).json()
    assert seen["title"] == "Alice's consultation" and seen["can_edit"] is False  # reads are organization-wide
    for method, body in (("PATCH", {"title": "moved by bob"}), ("DELETE", None)):
        refused = colleague.request(method, item, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"] == {"reason": "forbidden"}
    admin_elsewhere = p.browser("bob", "org-a", roles=("admin",))  # not a configured role here
    assert admin_elsewhere.patch(item, json={"title": "x"}).status_code == 403
    assert alice.get(item).json()["title"] == "Alice's consultation"

    secretary = p.browser("carol", "org-a", roles=("secretary",))
    assert secretary.get(item).json()["can_edit"] is True
    assert secretary.patch(item, json={"title": "moved by the secretary"}).status_code == 200
    assert secretary.delete(item).json()["status"] == "cancelled"
    other_org_manager = p.browser("dave", "org-b", roles=("manager",))
    assert other_org_manager.patch(item, json={"title": "x"}).status_code == 404


def test_default_role_claim_and_role(platform):
    alice, admin = platform.browser("alice", "org-a"), platform.browser("zoe", "org-a", roles=("admin",))
    mine = new_appointment(platform, alice)
    assert admin.patch(platform.api(f"{APPOINTMENTS}/{mine['id']}"), json={"title": "t"}).status_code == 200


def test_may_write_for_is_the_public_rule():
    from core import may_write_for
    from core.auth import CurrentUser

    owner, member = CurrentUser(1, "o", "a"), CurrentUser(2, "o", "b", roles=frozenset({"organizer"}))
    assert may_write_for(owner, 1, frozenset({"admin"}))
    assert not may_write_for(member, 1, frozenset({"admin"}))
    assert may_write_for(member, 1, frozenset({"organizer"}))


# ------------------------------------------------------------------ no 500 on bad input


def test_out_of_range_ids_pages_and_dates_are_4xx(platform):
    alice = platform.browser("alice", "org-a")
    for big in (2**31, 2**63, 10**30):
        assert alice.get(platform.api(f"{APPOINTMENTS}/{big}")).status_code == 404
    assert alice.get(platform.api(f"{APPOINTMENTS}/{2**31 - 1}")).status_code == 404
    huge_page = alice.get(platform.api(APPOINTMENTS), params={"page": 10**30})
    assert huge_page.status_code == 422 and "page" in huge_page.json()["errors"]["query"]
    for name, value in (("starts_from", "0001-01-01T00:00:00+14:00"), ("starts_before", "9999-12-31T20:00-10:00")):
        answer = alice.get(platform.api(APPOINTMENTS), params={name: value})
        assert answer.status_code == 422, answer.text
        assert name in answer.json()["errors"]["query"]
    body = {"title": "t", "starts_at": "9999-12-31T20:00-10:00", "ends_at": "9999-12-31T21:00-10:00"}
    assert alice.post(platform.api(APPOINTMENTS), json=body).status_code == 422


def test_deep_huge_and_oversized_bodies_are_4xx(platform):
    alice = platform.browser("alice", "org-a")
    deep = "[" * 100_000 + "]" * 100_000
    shallow_enough = "[" * 32 + "]" * 32
    for path in (APPOINTMENTS, "/api/v1/tools/list_connectors/invoke", CALENDAR + "/settings",
                 "/api/v1/connectors/smtp/config", CALENDAR + "/actions/list_events", "/api/v1/realtime/client-secret"):
        method = "PATCH" if path.endswith("/settings") else "POST"
        answer = alice.request(method, platform.api(path), data=deep, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["message"] in ("Le corps imbrique plus de 32 niveaux.", "Le corps n’est pas du JSON valide.")
        assert alice.request(method, platform.api(path), data="[" * 33 + "]" * 33,
                             headers={"Content-Type": "application/json"}).status_code == 400
        assert alice.request(method, platform.api(path), data=shallow_enough,
                             headers={"Content-Type": "application/json"}).status_code < 500
    digits = alice.post(platform.api(APPOINTMENTS), data='{"title": ' + "9" * 5000 + "}",
                        headers={"Content-Type": "application/json"})
    assert digits.status_code == 400 and digits.json()["message"] == "Les nombres du corps ont au plus 32 chiffres."
    big = alice.post(platform.api(APPOINTMENTS), json={"title": "x" * (2 * 1024 * 1024)})
    assert big.status_code == 413 and big.json()["code"] == 413


def test_bad_tokens_are_401_not_500(platform):
    for sub, org in (("s" * 256, "o"), ("s", "o" * 129), ("a\x00b", "o"), ("s", "o\x00"), ("s", "")):
        answer = requests.get(platform.api("/api/v1/connectors"),
                              headers={"Authorization": f"Bearer {platform.token(sub, org)}"}, timeout=10)
        assert answer.status_code == 401, (sub[:10], org[:10], answer.text)
    assert platform.browser("s" * 255, "o" * 128).get(platform.api("/api/v1/connectors")).status_code == 200


def test_non_ascii_state_is_an_invalid_state(platform):
    for state in ("caf\u00e9.\u00e9t\u00e9", "n." + "\u00e9" * 32, "x" * 5000):
        back = requests.get(platform.api(CALENDAR + "/callback"), params={"state": state, "code": "c"},
                            allow_redirects=False, timeout=10)
        assert back.status_code == 302
        assert parse_qs(urlparse(back.headers["Location"]).query)["error"] == ["invalid_state"]


def test_state_is_signed_with_a_key_derived_by_hkdf_from_the_newest_key(platform):
    from core.oauth.flow import _sign

    cipher = platform.ext("cipher")
    newest = platform.config.encryption_keys[0]
    raw = __import__("base64").urlsafe_b64decode(newest + "=" * (-len(newest) % 4))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"connectors oauth state v1").derive(raw)
    assert _sign(cipher, "nonce") == hmac.new(key, b"nonce", hashlib.sha256).hexdigest()[:32]
    old_scheme = hashlib.sha256(b"oauth-state|" + cipher.current_key_id.encode()).digest()
    assert _sign(cipher, "nonce") != hmac.new(old_scheme, b"nonce", hashlib.sha256).hexdigest()[:32]


def test_delete_disconnect_alias_disconnects(platform, fake_google):
    alice = platform.browser("alice", "org-a")
    connect_google(platform, alice, fake_google, "alice@example.com")
    answer = alice.delete(platform.api("/api/integrations/google/disconnect"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["connector"]["connected"] is False


# ------------------------------------------------------------------ headers, docs, 405


def test_security_headers_and_docs_served_from_the_package(platform):
    alice = platform.browser("alice", "org-a")
    listed = alice.get(platform.api("/api/v1/connectors"))
    assert listed.headers["X-Content-Type-Options"] == "nosniff"
    assert listed.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in listed.headers
    docs = requests.get(platform.api("/api/v1/docs"), timeout=10)
    assert docs.status_code == 200 and docs.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]
    assert "cdn." not in docs.text and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        served = requests.get(platform.url + "/static/swagger-ui/" + asset, timeout=10)
        assert served.status_code == 200 and len(served.content) > 1000, asset


def test_framing_is_refused_except_where_the_front_end_may_embed(start_platform, fake_google, tmp_path):
    site = start_platform(platform_env(f"sqlite:///{tmp_path}/frames.db", fake_google))
    listed = site.browser("alice", "org-a").get(site.api("/api/v1/connectors"))
    assert listed.headers["X-Frame-Options"] == "DENY"
    assert listed.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    dashboard = requests.get(site.url + "/", timeout=10)
    assert dashboard.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in dashboard.headers["Content-Security-Policy"]
    settings = requests.get(site.url + "/settings/integrations/google-calendar", timeout=10)
    assert settings.status_code == 200
    assert f"frame-ancestors 'self' {FRONTEND}" in settings.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in settings.headers


def test_hsts_in_production(start_platform, database_url, fake_google):
    production = start_platform(platform_env(database_url, fake_google, APP_ENV="production"))
    answer = requests.get(production.url + "/healthz", timeout=10)
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_405_names_the_allowed_methods(platform):
    answer = platform.browser("alice", "org-a").put(platform.api(APPOINTMENTS), json={})
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert answer.json()["code"] == 405


def test_x_pagination_matches_its_documented_schema(platform):
    alice = platform.browser("alice", "org-a")
    for hour in (9, 10, 11):
        new_appointment(platform, alice, hour=hour)
    spec = requests.get(platform.api("/api/v1/openapi.json"), timeout=10).json()
    documented = spec["paths"]["/api/v1/appointments"]["get"]["responses"]["200"]["headers"]["X-Pagination"]
    ref = documented["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = spec["components"]["schemas"][ref]["properties"]
    sent = json.loads(alice.get(platform.api(APPOINTMENTS), params={"page_size": 2}).headers["X-Pagination"])
    assert sent == {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 1, "next_page": 2}
    assert set(sent) <= set(properties) and all(properties[k]["type"] == "integer" for k in sent)


def test_the_openapi_document_lists_every_sync_status(platform):
    spec = requests.get(platform.api("/api/v1/openapi.json"), timeout=10).json()
    words = spec["components"]["schemas"]["Appointment"]["properties"]["sync_status"]["description"]
    for status in ("pending", "synced", "failed", "deleted", "changed_in_google"):
        assert status in words


# ------------------------------------------------------------------ a failing plugin hook


def test_a_failing_before_disconnect_does_not_keep_the_user_connected(start_platform, tmp_path, caplog):
    import logging
    import types

    from core import hookimpl
    from core.models import UserConnector, UserConnectorCredential
    from tests.sample_plugins import failing_disconnect, weather

    seen, recorder = [], types.ModuleType("recorder")
    recorder.before_disconnect = hookimpl(lambda connector: seen.append(connector))
    site = start_platform(platform_env(f"sqlite:///{tmp_path}/hooks.db"),
                          plugins=[("weather", weather), ("recorder", recorder), ("failing", failing_disconnect)])
    user = site.browser("u", "o")
    assert user.post(site.api("/api/v1/connectors/weather/config"), json={"api_key": "k"}).status_code == 200
    with caplog.at_level(logging.ERROR, logger="core.connections"):
        answer = user.post(site.api("/api/v1/connectors/weather/revoke"))
    assert answer.status_code == 200, answer.text
    assert user.get(site.api("/api/v1/connectors/weather")).json()["status"] == "inactive"
    with site.ext("db").session_scope() as session:
        assert session.query(UserConnectorCredential).count() == 0
        assert session.query(UserConnector).one().status == "inactive"
    assert seen == ["weather"]  # the other plugins' hooks still ran
    logged = [r.getMessage() for r in caplog.records if r.name == "core.connections"]
    assert len(logged) == 1 and "failing" in logged[0] and "RuntimeError" in logged[0]
    assert failing_disconnect.SECRET not in caplog.text and failing_disconnect.SECRET not in answer.text


# ------------------------------------------------------------------ unmigrated database


def _connection_attempts(app) -> list:
    """A list that grows by one each time the app's engine tries to open a database connection."""
    from sqlalchemy import event

    attempts = []
    event.listen(app.extensions["connectors.db"].engine, "do_connect", lambda *args: attempts.append(1))
    return attempts


def test_unmigrated_database_names_the_command(tmp_path, database_url):
    from core.app import create_app
    from core.auth import mint_token

    env = platform_env(database_url)  # a fresh database nobody migrated (SQLite file, PostgreSQL database)
    app = create_app(env, instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    bearer = {"Authorization": "Bearer " + mint_token(app.extensions["connectors.config"], "u", "o")}
    attempts = _connection_attempts(app)
    for path in ("/api/v1/connectors", "/api/v1/appointments"):
        answer = client.get(path, headers={**bearer, "Accept-Language": "en"})
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert answer.json == {"code": 503, "status": "Service Unavailable",
                               "errors": {"reason": "database_not_migrated"},
                               "message": "The database has no tables yet: run `connectors db upgrade`."}
    assert len(attempts) <= 1  # the error handler opens no connection of its own to find out
    french = client.get("/api/v1/connectors", headers=bearer)
    assert french.json["message"] == "La base de données n’a pas encore de tables : lancez `connectors db upgrade`."
    client.set_cookie("session", bearer["Authorization"].split()[1])  # the dashboard's session
    page = client.get("/api/v1/appointments", headers={"Accept-Language": "en"})
    assert page.status_code == 503 and page.json["errors"] == {"reason": "database_not_migrated"}
    app.extensions["connectors.db"].engine.dispose()

    cli_env = {**__import__("os").environ, **env, "CONNECTORS_INSTANCE_PATH": str(tmp_path / "instance")}
    for args in (["mcp", "--token", "t"], ["tools", "--user", "u", "--org", "o"]):
        done = subprocess.run([CONNECTORS, *args], env=cli_env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, (args, done.stderr)
        assert "run `connectors db upgrade`" in done.stderr
        assert "no such table" not in done.stderr + done.stdout and "SELECT" not in done.stderr


def test_database_away_is_a_503_found_out_with_one_connection_attempt(tmp_path):
    from core.app import create_app
    from core.auth import mint_token
    from tests.services import free_port

    nobody = f"postgresql://connectors@127.0.0.1:{free_port()}/connectors"  # nothing listens there
    app = create_app(platform_env(nobody), instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    bearer = {"Authorization": "Bearer " + mint_token(app.extensions["connectors.config"], "alice", "org-a")}
    attempts = _connection_attempts(app)
    english = client.get("/api/v1/appointments", headers={**bearer, "Accept-Language": "en"})
    assert english.status_code == 503 and english.headers["Retry-After"] == "5"
    assert english.json == {"code": 503, "status": "Service Unavailable", "errors": {"reason": "unavailable"},
                            "message": "The service is briefly unavailable; try again in a few seconds."}
    assert len(attempts) == 1  # the request's own, none from the error handler
    french = client.get("/api/v1/connectors", headers=bearer)
    assert french.status_code == 503
    assert french.json["message"] == "Le service est brièvement indisponible ; réessayez dans quelques secondes."
    # The dashboard's cookie session: its saved language lives in the database that is away.
    client.set_cookie("session", bearer["Authorization"].split()[1])
    del attempts[:]
    page = client.get("/api/v1/connectors", headers={"Accept-Language": "en"})
    assert page.status_code == 503 and page.json["errors"] == {"reason": "unavailable"}
    assert page.json["message"] == "The service is briefly unavailable; try again in a few seconds."
    assert len(attempts) == 1


def test_callback_with_a_control_character_in_the_key_redirects(platform):
    back = requests.get(platform.api("/api/v1/connectors/a%0Db/callback"), params={"state": "x"},
                        allow_redirects=False, timeout=10)
    assert back.status_code == 302
    assert urlparse(back.headers["Location"]).path == "/connectors/callback/a%0Db"
