"""SMTP end to end through the HTTP API against a real local SMTP server (STARTTLS, AUTH)."""
from __future__ import annotations

import pytest

from tests.connectors.helpers import (ORG, USER, accepted_config, configure, refused_config, revoked, run, signed_in,
                                     status)


@pytest.fixture
def values(smtp_server, monkeypatch):
    """Config values for ``smtp_server`` by host name, over STARTTLS verified against the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_server.ca_file))
    return {"host": "localhost", "port": smtp_server.port, "username": smtp_server.username,
            "password": smtp_server.password, "from_address": "alice@example.com", "tls_mode": "starttls"}


@pytest.fixture
def connected(start_platform, tmp_path, values):
    """The platform on SQLite with USER's SMTP account connected."""
    p, user = signed_in(start_platform, f"sqlite:///{tmp_path}/x.db")
    accepted_config(p, user, "smtp", values, "password")
    return p, user


def test_connect_send_and_revoke(start_platform, database_url, smtp_server, values):
    p, user = signed_in(start_platform, database_url)
    bad = refused_config(p, user, "smtp", {**values, "password": "wrong-Pa55"}, USER, ORG, "wrong-Pa55")
    assert bad["message"] == "The SMTP server refused the username or password."
    assert bad["errors"]["field"] == "password"

    connected = accepted_config(p, user, "smtp", values, "password")
    assert connected["account"] == f"{smtp_server.username} (localhost)"
    sent = run(p, user, "smtp", "send_email", to="bob@example.org", subject="Lunch", body="Noon at Luigi's?")
    assert sent.status_code == 200, sent.text
    [message] = smtp_server.messages
    assert (message["From"], message["To"], message["Subject"]) == ("alice@example.com", "bob@example.org", "Lunch")
    assert message.get_content().strip() == "Noon at Luigi's?"
    assert message.tls and message.username == smtp_server.username
    assert sent.json()["result"]["message_id"] == message["Message-ID"]

    revoked(p, user, "smtp", USER, ORG)
    assert run(p, user, "smtp", "send_email", to="bob@example.org", subject="x", body="x").status_code == 409


def test_changed_password_needs_reauth(connected, smtp_server):
    p, user = connected
    old = smtp_server.password
    smtp_server.password = "changed-by-the-user"
    answer = run(p, user, "smtp", "send_email", to="bob@example.org", subject="Hi", body="Hi")
    assert answer.status_code == 409 and answer.json()["errors"]["reason"] == "needs_reauth"
    assert old not in answer.text and smtp_server.messages == []
    assert status(p, user, "smtp")["status"] == "needs_reauth"


def test_invalid_recipient_is_invalid_input(connected, smtp_server):
    p, user = connected
    answer = run(p, user, "smtp", "send_email", to="not-an-address", subject="Hi", body="Hi")
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"reason": "invalid_input", "field": "to"}
    assert smtp_server.messages == []


def test_private_host_is_refused_by_the_ssrf_guard(start_platform, tmp_path, values):
    p, user = signed_in(start_platform, f"sqlite:///{tmp_path}/x.db", CONNECTORS_ALLOW_PRIVATE_HOSTS="0")
    body = refused_config(p, user, "smtp", values, USER, ORG, values["password"])
    assert body["message"].startswith("localhost is not allowed: for security")
    assert "127.0.0.1" not in body["message"]
    assert body["errors"] == {"reason": "invalid_credentials", "cause": "forbidden_host", "field": "host"}
    assert configure(p, user, "smtp", {**values, "host": "169.254.169.254"}).json()["message"].startswith(
        "169.254.169.254 is not allowed")
