"""Shared fixtures: real services, a real HTTP server of the platform, and provider fakes."""
from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from werkzeug.serving import make_server

from core.app import create_app
from core.auth import mint_token
from core.crypto import generate_key
from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.services"]
#: A third-party author's plugin and tests, run by tests/test_kit.py in a pytest of their own.
collect_ignore = ["kit_author"]

FRONTEND = "http://frontend.test"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """Each platform test runs on the embedded SQLite default and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'connectors.db'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def fake_google():
    """A fake Google (OAuth + Calendar v3) on loopback with two accounts."""
    fake = FakeGoogle(client_id="test-client", client_secret="test-secret")
    fake.add_account("alice@example.com", calendars=[{"id": "work-alice@group.calendar.google.com",
                                                      "summary": "Work"}])
    fake.add_account("bob@example.org")
    fake.start()
    yield fake
    fake.stop()


class Platform:
    """The platform served over real HTTP on loopback, with helpers to act as users."""

    def __init__(self, app, url):
        self.app = app
        self.url = url
        self.config = app.extensions["connectors.config"]

    def token(self, user: str, org: str, ttl: int = 3600, roles: tuple[str, ...] = ()) -> str:
        return mint_token(self.config, user, org, ttl, roles)

    def browser(self, user: str | None = None, org: str | None = None, roles: tuple[str, ...] = ()) -> requests.Session:
        """A cookie-keeping HTTP client, signed in (Bearer) as ``user`` of ``org`` when given."""
        session = requests.Session()
        if user:
            session.headers["Authorization"] = f"Bearer {self.token(user, org, roles=roles)}"
        return session

    def cookie_browser(self, user: str, org: str, origin: str | None = None) -> requests.Session:
        """A client signed in with the ``session`` cookie, as the dashboard's page is; its writes carry
        ``Origin: origin`` (default: the platform's own, as a browser on our page sends)."""
        session = requests.Session()
        session.cookies.set("session", self.token(user, org))
        session.headers["Origin"] = origin or self.url
        return session

    def api(self, path: str) -> str:
        return self.url + path

    def ext(self, name):
        return self.app.extensions[f"connectors.{name}"]


def platform_env(database_url: str, fake_google: FakeGoogle | None = None, **extra) -> dict:
    """The environment an operator would set, pointed at the fakes."""
    env = {
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "CONNECTORS_ENCRYPTION_KEYS": generate_key(),
        "JWT_SECRET": "test-secret-" + "x" * 40,
        "FRONTEND_URL": FRONTEND,
        "CONNECTORS_ALLOW_PRIVATE_HOSTS": "1",
    }
    if fake_google is not None:
        env.update({
            "GOOGLE_CLIENT_ID": "test-client", "GOOGLE_CLIENT_SECRET": "test-secret",
            "GOOGLE_AUTH_URI": fake_google.url + "/o/oauth2/v2/auth",
            "GOOGLE_TOKEN_URI": fake_google.url + "/token",
            "GOOGLE_REVOKE_URI": fake_google.url + "/revoke",
            "GOOGLE_API_ROOT": fake_google.url + "/",
        })
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


@pytest.fixture
def start_platform(tmp_path):
    """Start the platform over HTTP with ``env``; every started server is stopped afterwards."""
    servers = []

    def start(env: dict, plugins=()) -> Platform:
        server = make_server("127.0.0.1", 0, None, threaded=True)
        url = f"http://127.0.0.1:{server.server_port}"
        env = {"BACKEND_URL": url, "APP_BASE_URL": url, **env}
        app = create_app(env, plugins=plugins, instance_path=str(tmp_path / "instance"))
        app.extensions["connectors.db"].upgrade()
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        return Platform(app, url)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
        server.app.extensions["connectors.db"].engine.dispose()


@pytest.fixture
def platform(start_platform, database_url, fake_google) -> Platform:
    """The platform on this test's database, with Google pointed at the fake."""
    return start_platform(platform_env(database_url, fake_google))


def connect_google(platform: Platform, browser: requests.Session, fake: FakeGoogle, email: str,
                   key: str = "google_calendar") -> dict:
    """Walk the real OAuth dance as a browser would; return the front end's query parameters."""
    started = browser.get(platform.api(f"/api/v1/connectors/{key}/redirect"), allow_redirects=False)
    assert started.status_code == 302, started.text
    fake.consent_as(email)
    consent = browser.get(started.headers["Location"], allow_redirects=False)
    assert consent.status_code == 302, consent.text
    back = browser.get(consent.headers["Location"], allow_redirects=False)
    assert back.status_code == 302, back.text
    location = urlparse(back.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == FRONTEND
    assert location.path == f"/connectors/callback/{key}"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


@pytest.fixture
def configured_platform(start_platform, database_url, fake_google) -> Platform:
    """The platform with every provider configured, as in production: Google and OpenAI answered by
    the fakes, the other OAuth clients set (their consent pages are never visited)."""
    from tests.fakes.openai import FakeOpenAI

    clients = {f"{p}_{n}": f"{p.lower()}-{n.lower()}" for p in ("SLACK", "NOTION", "CALENDLY")
               for n in ("CLIENT_ID", "CLIENT_SECRET")}
    with FakeOpenAI() as openai:
        yield start_platform(platform_env(database_url, fake_google, OPENAI_API_KEY=openai.api_key,
                                          OPENAI_BASE_URL=openai.url + "/v1", REALTIME_RATE_LIMIT="1000/minute",
                                          **clients))
