"""Checks that the service fixtures of ``tests/services.py`` provide real, working servers."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import TYPE_CHECKING

import psycopg
import pytest
import redis
import sqlalchemy as sa

if TYPE_CHECKING:
    from tests.services import PostgresServer, RedisServer, SMTPServer

# Importing tests.services at module level would stop pytest from loading it as an
# (assertion-rewritten) plugin, so the one helper needed at runtime is imported late.
pytest_plugins = ["tests.services"]


def _mail(to: str = "bob@example.org") -> EmailMessage:
    """A small test message from alice to ``to``."""
    message = EmailMessage()
    message["From"] = "alice@example.org"
    message["To"] = to
    message["Subject"] = "Hello"
    message.set_content("Hi Bob!")
    return message


def test_free_port_is_bindable():
    from tests.services import free_port

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("run", [1, 2])
def test_redis_url_starts_empty(redis_url, run):
    client = redis.Redis.from_url(redis_url)
    assert redis_url.startswith("redis://127.0.0.1:") and redis_url.endswith("/0")
    assert client.dbsize() == 0
    client.set("left-behind", run)


def test_redis_stop_and_start(redis_url, redis_server: RedisServer):
    client = redis.Redis.from_url(redis_url)
    client.set("key", "value")
    assert client.get("key") == b"value"

    redis_server.stop()
    assert not redis_server.running
    with pytest.raises(redis.ConnectionError):
        client.ping()

    redis_server.start()
    assert client.ping()
    assert client.get("key") is None, "nothing is persisted across restarts"
    assert redis_server.url == redis_url


@pytest.mark.postgres
def test_postgres_database_roundtrip(postgres_database_url):
    assert postgres_database_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE items (id serial PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO items (name) VALUES ('a'), ('b')"))
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM items ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    assert names == ["a", "b"]


@pytest.mark.postgres
def test_postgres_temporary_database_is_dropped(postgres_server: PostgresServer):
    def exists(name: str) -> bool:
        with postgres_server.connect() as admin:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            return admin.execute(query, (name,)).fetchone() is not None

    with postgres_server.temporary_database() as url:
        parsed = sa.make_url(url)
        # A connection left open must not prevent the drop.
        leftover = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(False))
        assert exists(parsed.database)
    leftover.close()
    assert not exists(parsed.database)


def test_smtp_plain_login(smtp_server: SMTPServer):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login(smtp_server.username, smtp_server.password)
        client.send_message(_mail())
    [received] = smtp_server.messages
    assert received["Subject"] == "Hello"
    assert received.envelope_from == "alice@example.org"
    assert received.envelope_to == ("bob@example.org",)
    assert received.username == "mailer"
    assert not received.tls


def test_smtp_wrong_password_rejected(smtp_server: SMTPServer):
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        client.login(smtp_server.username, "wrong")


def test_smtp_requires_auth(smtp_server: SMTPServer):
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused),
    ):
        client.send_message(_mail())
    assert smtp_server.messages == []


def test_smtp_starttls_with_system_trust(smtp_server: SMTPServer, monkeypatch):
    smtp_server.require_tls = True
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_server.ca_file))
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(smtp_server.username, smtp_server.password)
        client.starttls(context=ssl.create_default_context())
        client.login(smtp_server.username, smtp_server.password)
        client.send_message(_mail(), to_addrs=["bob@example.org", "carol@example.org"])
    [received] = smtp_server.messages
    assert received.tls
    assert received.envelope_to == ("bob@example.org", "carol@example.org")
    assert received.get_content().strip() == "Hi Bob!"


def test_smtp_starttls_untrusted_certificate_fails(smtp_server: SMTPServer, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=ssl.create_default_context())


def test_smtps_implicit_tls(smtps_server: SMTPServer):
    context = ssl.create_default_context(cafile=smtps_server.ca_file)
    host, port = smtps_server.host, smtps_server.port
    with smtplib.SMTP_SSL(host, port, context=context, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("someone", smtps_server.password)
        client.login(smtps_server.username, smtps_server.password)
        client.send_message(_mail())
    [received] = smtps_server.messages
    assert received.tls
    assert received.username == "mailer"
