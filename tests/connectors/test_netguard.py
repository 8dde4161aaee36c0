"""The SSRF guard: each class of refused address, allow-private, and pinned connections."""
from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from core.errors import ConnectorValidationError
from core.netguard import PinnedPoolManager, guarded_session, private_hosts_allowed, refusal, resolve_public
from tests.fakes.http import FakeServer, json_response, route


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "a loopback address"), ("::1", "a loopback address"),
    ("10.0.0.1", "a private address"), ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"), ("100.64.0.1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("169.254.10.1", "a link-local address"), ("fe80::1", "a link-local address"),
    ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"), ("::", "an unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("192.0.2.10", "a non-public address"),
    ("169.254.169.254", "a cloud metadata address"), ("fd00:ec2::254", "a cloud metadata address"),
    ("::ffff:10.0.0.1", "a private address"), ("2002:7f00:1::1", "a loopback address"),
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_each_class_of_address(address, reason):
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("host, why", [
    ("10.0.0.1", "is a private address"),
    ("localhost", "resolves to a loopback address (127.0.0.1)"),
    ("[::1]", "is a loopback address"),
    ("169.254.169.254", "is a cloud metadata address"),
    ("metadata.google.internal", "is a cloud metadata endpoint"),
])
def test_refused_hosts_say_why_in_the_log_only(host, why, caplog):
    with pytest.raises(ConnectorValidationError) as info:
        resolve_public(host, 587, field="endpoint", allow_private=False)
    assert info.value.message == (f"{host} is not allowed: for security, connectors only reach hosts on the "
                                  "public internet. Use the server's public host name.")
    assert info.value.details == {"field": "endpoint", "reason": "forbidden_host"}
    assert info.value.http_status == 422
    assert f"SSRF guard refused {host}: it {why}" in caplog.text


def test_public_address_and_allow_private():
    assert resolve_public("8.8.8.8", 25, allow_private=False) == "8.8.8.8"
    assert resolve_public("127.0.0.1", 25, allow_private=True) == "127.0.0.1"
    assert resolve_public("10.1.2.3", 25, allow_private=True) == "10.1.2.3"
    for metadata in ("169.254.169.254", "fd00:ec2::254", "metadata.google.internal"):
        with pytest.raises(ConnectorValidationError, match="is not allowed"):
            resolve_public(metadata, 80, allow_private=True)


def test_unresolvable_host():
    with pytest.raises(ConnectorValidationError) as info:
        resolve_public("no-such-host.invalid", 9000, allow_private=True)
    assert info.value.message.startswith("Could not reach no-such-host.invalid:9000: ")
    assert info.value.details["reason"] == "unreachable"


@pytest.mark.parametrize("value, allowed", [("1", True), ("true", True), ("On", True), ("0", False),
                                            ("", False), ("no", False)])
def test_allow_private_variable(value, allowed, monkeypatch):
    assert private_hosts_allowed({"CONNECTORS_ALLOW_PRIVATE_HOSTS": value}) is allowed
    monkeypatch.setenv("CONNECTORS_ALLOW_PRIVATE_HOSTS", value)
    assert private_hosts_allowed() is allowed


class EchoHost(FakeServer):
    @route("GET", r"/")
    def root(self, request):
        return json_response({"host": request.headers.get("host")})


def test_pinned_pool_connects_to_the_checked_address_with_the_original_host():
    with EchoHost() as fake:
        port = fake.url.rsplit(":", 1)[1]
        http = PinnedPoolManager({"storage.example.test": "127.0.0.1"}, retries=False)
        answer = http.request("GET", f"http://storage.example.test:{port}/")
        assert answer.json() == {"host": f"storage.example.test:{port}"}
        with pytest.raises(urllib3.exceptions.HTTPError, match="not checked"):
            http.request("GET", f"http://other.example.test:{port}/")


def test_guarded_session_reaches_only_the_checked_host():
    with EchoHost() as fake:
        port = fake.url.rsplit(":", 1)[1]
        with pytest.raises(ConnectorValidationError) as refused:
            guarded_session(f"http://127.0.0.1:{port}/dav/", field="url", allow_private=False)
        assert refused.value.details == {"field": "url", "reason": "forbidden_host"}
        with pytest.raises(ConnectorValidationError, match="not an http"):
            guarded_session("file:///etc/passwd")
        session = guarded_session(f"http://127.0.0.1:{port}/dav/", allow_private=True)
        assert session.get(f"http://127.0.0.1:{port}/", timeout=5).json() == {"host": f"127.0.0.1:{port}"}
        with pytest.raises(Exception, match="not checked"):
            session.get(f"http://localhost:{port}/", timeout=5)


@pytest.fixture
def https_server(tls_certificate):
    """An HTTPS server on loopback presenting the test CA's certificate for ``localhost``."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = tls_certificate.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_pinned_pool_still_verifies_the_certificate_against_the_host_name(https_server, tls_certificate):
    ca = str(tls_certificate.ca_file)
    good = PinnedPoolManager({"localhost": "127.0.0.1"}, ca_certs=ca, retries=False)
    assert good.request("GET", f"https://localhost:{https_server}/").status == 204
    wrong = PinnedPoolManager({"wrong.example.test": "127.0.0.1"}, ca_certs=ca, retries=False)
    with pytest.raises(urllib3.exceptions.SSLError) as info:
        wrong.request("GET", f"https://wrong.example.test:{https_server}/")
    assert "doesn't match" in str(info.value)
