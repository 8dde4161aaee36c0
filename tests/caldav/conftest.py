"""Fixtures for the CalDAV connector: a real Radicale server and a recording proxy in front of it."""
from __future__ import annotations

import pytest

from tests.caldav.radicale import Proxy, Radicale

USERS = {"alice": "alice-app-password", "bob": "bob-app-password"}


@pytest.fixture
def radicale(tmp_path):
    """Radicale on loopback with users alice and bob, each with a "Cabinet" and a "Perso" calendar."""
    directory = tmp_path / "radicale"
    directory.mkdir()
    server = Radicale(directory)
    for name, password in USERS.items():
        server.add_user(name, password)
    server.start()
    for name in USERS:
        server.make_calendar(name, "Cabinet", "cabinet")
        server.make_calendar(name, "Perso", "perso")
    yield server
    server.stop()


@pytest.fixture
def caldav_proxy(radicale):
    """A proxy in front of Radicale that records the platform's requests and injects failures."""
    proxy = Proxy(radicale)
    proxy.start()
    yield proxy
    proxy.stop()
