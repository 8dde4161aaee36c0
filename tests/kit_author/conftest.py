"""The author's conftest: the plugin is not installed here, so it is handed to the platform."""
import pytest

import acme_connector


@pytest.fixture
def platform_plugins():
    return [("acme", acme_connector)]


@pytest.fixture
def platform_environ(oauth_provider):
    return oauth_provider.environ("ACME")
