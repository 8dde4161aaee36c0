"""Fixtures of the agent-tool tests: the platform on SQLite with fake Google and OpenAI."""
import pytest

from tests.conftest import platform_env
from tests.fakes.google import FakeGoogle
from tests.fakes.openai import FakeOpenAI
from tests.sample_plugins import weather


@pytest.fixture
def sqlite_url(tmp_path):
    """The embedded default database (these tests check tools, not storage engines)."""
    return f"sqlite:///{tmp_path / 'connectors.db'}"


@pytest.fixture
def google():
    """A fake Google with alice (primary calendar plus a Paris one) and bob."""
    fake = FakeGoogle(client_id="test-client", client_secret="test-secret")
    fake.add_account("alice@example.com", calendars=[{"id": "paris@group.calendar.google.com",
                                                      "summary": "Paris office", "timeZone": "Europe/Paris"}])
    fake.add_account("bob@example.org")
    with fake:
        yield fake


@pytest.fixture
def fake_openai():
    """A fake OpenAI Realtime client-secret endpoint on loopback."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def tools_env(sqlite_url, google, fake_openai):
    """An operator's environment with Google and OpenAI pointed at the fakes."""
    return platform_env(sqlite_url, google, OPENAI_API_KEY=fake_openai.api_key,
                        OPENAI_BASE_URL=fake_openai.url + "/v1")


@pytest.fixture
def tools_platform(start_platform, tools_env):
    """The platform over HTTP with every installed plugin plus the sample weather plugin."""
    return start_platform(tools_env, plugins=[("weather", weather)])
