"""The SMTP connector against a real local SMTP server (aiosmtpd) that requires AUTH.

Covers plain, STARTTLS and implicit TLS servers; the TLS ones use a self-signed
certificate generated here and trusted through ``SSL_CERT_FILE``.
"""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import types
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import plugins.smtp as smtp_plugin
from core.errors import ConnectorError, ConnectorValidationError, NeedsReauth

USER = "alice"
PASSWORD = "s3cret-Pa55word"
WRONG_PASSWORD = "wr0ng-Pa55word"
HOST = "127.0.0.1"

# aiosmtpd warns whenever AUTH is allowed without STARTTLS, which the plain and implicit
# TLS servers below do on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    """The servers below listen on loopback, which the SSRF guard refuses by default."""
    monkeypatch.setenv("CONNECTORS_ALLOW_PRIVATE_HOSTS", "1")


class RecordingHandler:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.original_content, policy=policy.default),
            }
        )
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    """Accept only USER / PASSWORD."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False makes aiosmtpd answer a failure with its own 535 reply.
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost / 127.0.0.1: ``(cert_path, key_path)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def trust_certificate(certificate, monkeypatch):
    """Make ``ssl.create_default_context()`` trust the test certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def _server_context(certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*map(str, certificate))
    return ctx


@pytest.fixture
def smtp_server(request, certificate):
    """Start a real SMTP server that requires AUTH.

    Parametrise indirectly with ``plain`` (AUTH without TLS), ``plain_tls_only`` (no TLS and
    AUTH only offered over TLS, i.e. never), ``starttls`` or ``tls`` (implicit TLS). Yields a
    namespace with ``port``, ``mode`` and the ``handler`` holding received messages.
    """
    mode = getattr(request, "param", "plain")
    handler = RecordingHandler()
    kwargs = dict(auth_required=True, authenticator=authenticator)
    if mode == "plain":
        kwargs["auth_require_tls"] = False
    elif mode == "starttls":
        kwargs.update(tls_context=_server_context(certificate), require_starttls=True)
    elif mode == "tls":
        # aiosmtpd only counts STARTTLS as TLS when deciding whether to offer AUTH.
        kwargs.update(ssl_context=_server_context(certificate), auth_require_tls=False)
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, server_hostname="localhost", **kwargs)
    controller.start()
    try:
        yield types.SimpleNamespace(port=port, mode=mode, handler=handler)
    finally:
        controller.stop()


def config(server, **overrides) -> dict:
    """Config values for ``server`` with the right credentials unless overridden."""
    values = {
        "host": HOST,
        "port": server.port,
        "username": USER,
        "password": PASSWORD,
        "from_address": "alice@example.com",
        "tls_mode": "none" if server.mode.startswith("plain") else server.mode,
    }
    values.update(overrides)
    return values


ALL_MODES = pytest.mark.parametrize("smtp_server", ["plain", "starttls", "tls"], indirect=True)


# --------------------------------------------------------------------------- declaration

def test_declaration_is_a_usable_config_connector():
    [spec] = smtp_plugin.register_connectors()
    assert spec.problems() == []
    assert (spec.key, spec.kind, spec.provider) == ("smtp", "config", "smtp")
    fields = {f.name: f for f in spec.fields}
    assert list(fields) == ["host", "port", "username", "password", "from_address", "tls_mode"]
    assert fields["password"].secret and not fields["username"].secret
    assert (fields["port"].type, fields["port"].default) == ("integer", 587)
    assert fields["from_address"].type == "email"
    assert fields["tls_mode"].choices == ("starttls", "tls", "none")
    assert fields["tls_mode"].default == "starttls"
    [action] = spec.actions
    assert action.name == "send_email"
    assert [p.name for p in action.params] == ["to", "subject", "body"]


# --------------------------------------------------------------------------- validate

@ALL_MODES
def test_good_credentials_return_the_account_label(smtp_server, trust_certificate):
    assert smtp_plugin.validate(config(smtp_server)) == f"{USER} ({HOST})"


@ALL_MODES
def test_wrong_password_is_refused_without_echoing_it(smtp_server, trust_certificate):
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(config(smtp_server, password=WRONG_PASSWORD))
    err = info.value
    assert err.message == "The SMTP server refused the username or password."
    assert err.details["field"] == "password"
    assert err.code == "invalid_credentials"
    assert WRONG_PASSWORD not in str(err) and PASSWORD not in repr(err.details)


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_wrong_username_is_refused(smtp_server):
    with pytest.raises(ConnectorValidationError, match="refused the username or password"):
        smtp_plugin.validate(config(smtp_server, username="mallory"))


def test_unreachable_port_gives_a_clear_error():
    port = free_port()
    values = {"host": HOST, "port": port, "username": USER, "password": PASSWORD,
              "from_address": "alice@example.com", "tls_mode": "none"}
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(values)
    assert info.value.message.startswith(f"Could not reach {HOST}:{port}: ")
    assert "refused" in info.value.message
    assert PASSWORD not in info.value.message


def test_unresolvable_host_gives_a_clear_error():
    values = {"host": "no-such-host.invalid", "port": 587, "username": USER,
              "password": PASSWORD, "tls_mode": "none"}
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(values)
    assert info.value.message.startswith("Could not reach no-such-host.invalid:587: ")
    assert info.value.details["field"] == "host"


@pytest.mark.parametrize("smtp_server", ["starttls", "tls"], indirect=True)
def test_untrusted_certificate_is_rejected(smtp_server, monkeypatch, tmp_path):
    # An empty trust store: the self-signed certificate cannot be verified.
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(config(smtp_server))
    assert "certificate" in info.value.message
    assert "could not be verified" in info.value.message
    assert info.value.details["reason"] == "tls"


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_starttls_against_a_server_without_it(smtp_server):
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(config(smtp_server, tls_mode="starttls"))
    assert "does not offer STARTTLS" in info.value.message
    assert info.value.details["field"] == "tls_mode"


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_implicit_tls_against_a_plain_server(smtp_server, trust_certificate):
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(config(smtp_server, tls_mode="tls"))
    assert "TLS" in info.value.message and "'tls'" in info.value.message
    assert info.value.details["field"] == "tls_mode"


@pytest.mark.parametrize("smtp_server", ["plain_tls_only"], indirect=True)
def test_server_without_auth_gives_a_clear_error(smtp_server):
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(config(smtp_server))
    assert "does not offer authentication (AUTH)" in info.value.message
    assert "'starttls'" in info.value.message
    assert PASSWORD not in info.value.message


@pytest.mark.parametrize(
    "overrides, field",
    [({"host": ""}, "host"), ({"port": "abc"}, "port"), ({"port": 70000}, "port"),
     ({"tls_mode": "ssl3"}, "tls_mode"), ({"password": ""}, "password")],
)
def test_malformed_config_is_rejected_before_connecting(overrides, field):
    values = {"host": HOST, "port": 1, "username": USER, "password": PASSWORD,
              "tls_mode": "none", **overrides}
    with pytest.raises(ConnectorValidationError) as info:
        smtp_plugin.validate(values)
    assert info.value.details["field"] == field


# --------------------------------------------------------------------------- send_email

@ALL_MODES
def test_send_email_delivers_the_message(smtp_server, trust_certificate):
    ctx = types.SimpleNamespace(config=config(smtp_server))
    result = smtp_plugin.send_email(ctx, to="bob@example.org", subject="Hello Bob",
                                    body="Lunch at noon?\nAlice")
    assert result["sent"] is True and result["to"] == "bob@example.org"
    assert result["message_id"].startswith("<") and result["message_id"].endswith("@example.com>")

    [received] = smtp_server.handler.messages
    assert received["mail_from"] == "alice@example.com"
    assert received["rcpt_tos"] == ["bob@example.org"]
    msg = received["message"]
    assert msg["From"] == "alice@example.com"
    assert msg["To"] == "bob@example.org"
    assert msg["Subject"] == "Hello Bob"
    assert msg["Message-ID"] == result["message_id"]
    assert msg.get_content().replace("\r\n", "\n") == "Lunch at noon?\nAlice\n"


@pytest.mark.parametrize("to", ["not-an-address", "bob@", "@example.org", "bob@example",
                                "bob@example.org, eve@example.org", "bob@exa mple.org", ""])
@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_send_email_rejects_an_invalid_recipient(smtp_server, to):
    ctx = types.SimpleNamespace(config=config(smtp_server))
    with pytest.raises(ConnectorError) as info:
        smtp_plugin.send_email(ctx, to=to, subject="Hi", body="Hi")
    assert info.value.code == "invalid_input"
    assert info.value.details["field"] == "to"
    assert smtp_server.handler.messages == []


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_send_email_rejects_a_multiline_subject(smtp_server):
    ctx = types.SimpleNamespace(config=config(smtp_server))
    with pytest.raises(ConnectorError) as info:
        smtp_plugin.send_email(ctx, to="bob@example.org", subject="Hi\r\nBcc: eve@example.org",
                               body="Hi")
    assert info.value.code == "invalid_input"
    assert smtp_server.handler.messages == []


@pytest.mark.parametrize("smtp_server", ["plain"], indirect=True)
def test_send_email_with_a_changed_password_needs_reauth(smtp_server):
    ctx = types.SimpleNamespace(config=config(smtp_server, password=WRONG_PASSWORD))
    with pytest.raises(NeedsReauth) as info:
        smtp_plugin.send_email(ctx, to="bob@example.org", subject="Hi", body="Hi")
    assert WRONG_PASSWORD not in info.value.message
    assert smtp_server.handler.messages == []


def test_send_email_to_an_unreachable_server_is_a_provider_error():
    port = free_port()
    ctx = types.SimpleNamespace(config={"host": HOST, "port": port, "username": USER,
                                        "password": PASSWORD, "from_address": "alice@example.com",
                                        "tls_mode": "none"})
    with pytest.raises(ConnectorError) as info:
        smtp_plugin.send_email(ctx, to="bob@example.org", subject="Hi", body="Hi")
    assert info.value.code == "provider_error"
    assert info.value.message.startswith(f"Could not reach {HOST}:{port}: ")
