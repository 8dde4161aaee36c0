"""SSRF guard for hosts a user types in (a mail server, an S3 endpoint).

:func:`resolve_public` resolves the host **once**, refuses it when any of its addresses is
loopback, private (RFC 1918, shared CGNAT space, IPv6 ULA), link-local, multicast,
unspecified, reserved or otherwise not publicly routable, and returns the address to connect
to. Connecting to that address — never to the name again — is what stops DNS rebinding: a
name that answers a public address to the check and ``127.0.0.1`` to the connection.
:class:`PinnedPoolManager` does that for urllib3-based SDKs, keeping TLS verification on the
host name.

Operators who run their mail or object storage on a private network set
``CONNECTORS_ALLOW_PRIVATE_HOSTS=1`` (the test suite does too). Cloud metadata endpoints
(``169.254.169.254``, ``fd00:ec2::254``, ``metadata.google.internal``…) are refused even then:
no connector has a reason to reach them, and they hand out the server's own cloud credentials.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Mapping

import urllib3

from core.errors import ConnectorValidationError
from core.i18n import _

log = logging.getLogger(__name__)

ALLOW_VARIABLE = "CONNECTORS_ALLOW_PRIVATE_HOSTS"
TRUTHY = frozenset({"1", "true", "yes", "on"})
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(map(ipaddress.ip_address, (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
    "169.254.170.2",    # AWS ECS task credentials
    "fd00:ec2::254",    # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
)))
PRIVATE_NETWORKS = tuple(map(ipaddress.ip_network, (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10",
)))


def private_hosts_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CONNECTORS_ALLOW_PRIVATE_HOSTS`` is truthy (``1``, ``true``, ``yes``, ``on``).

    Read from ``environ`` when given, else from the running app's configuration, else from
    ``os.environ`` (outside an app, e.g. a script).
    """
    if environ is None:
        environ = _app_environ()
    return str(environ.get(ALLOW_VARIABLE, "")).strip().lower() in TRUTHY


def _app_environ() -> Mapping[str, str]:
    """The current Flask app's configured environment, or ``os.environ`` outside an app."""
    from flask import current_app, has_app_context

    if has_app_context() and "connectors.config" in current_app.extensions:
        return current_app.extensions["connectors.config"].environ
    return os.environ


def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` may not be reached (``"a private address"``…), or None when it is public.

    IPv4 addresses wrapped in IPv6 (mapped ``::ffff:a.b.c.d``, 6to4, Teredo) are judged by the
    IPv4 address they carry.
    """
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is not None:
            return refusal(inner)
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (any(address in net for net in PRIVATE_NETWORKS), "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def resolve_public(host: str, port: int, *, field: str = "host", allow_private: bool | None = None) -> str:
    """Resolve ``host`` once and return the IP address to connect to for ``host:port``.

    Raises :class:`ConnectorValidationError` (``reason="unreachable"`` when the name does not
    resolve, ``reason="forbidden_host"`` when it is refused), naming ``field``. Every address
    the name resolves to must be public, so a name cannot slip a private address in among
    public ones. ``allow_private`` defaults to :func:`private_hosts_allowed`.
    """
    if allow_private is None:
        allow_private = private_hosts_allowed()
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise _forbidden(host, "is a cloud metadata endpoint", field)
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ConnectorValidationError(
            _("Could not reach %(host)s:%(port)s: the host name could not be resolved. Check the host.",
              host=host, port=port),
            field=field, reason="unreachable") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    for address in addresses:
        why = refusal(address)
        if why and (why == "a cloud metadata address" or not allow_private):
            literal = name == str(address)
            raise _forbidden(host, f"is {why}" if literal else f"resolves to {why} ({address})", field)
    return str(addresses[0])


def _forbidden(host: str, why: str, field: str) -> ConnectorValidationError:
    """The refusal of ``host``: the reason ``why`` (which may name an internal address) goes to the
    log only, so the answer cannot be used to map the server's network or DNS."""
    log.warning("SSRF guard refused %s: it %s", host, why)
    return ConnectorValidationError(
        _("%(host)s is not allowed: for security, connectors only reach hosts on the public internet. "
          "Use the server's public host name.", host=host), field=field, reason="forbidden_host")


class PinnedPoolManager(urllib3.PoolManager):
    """A urllib3 pool manager that connects each allowed host name to its checked address.

    ``pins`` maps host names to the addresses :func:`resolve_public` returned. TCP goes to the
    pinned address while TLS still sends and verifies the host name (SNI and certificate), and
    the ``Host`` header stays what the client set. A host that was not pinned (a redirect
    elsewhere, say) is refused.
    """

    def __init__(self, pins: Mapping[str, str], **kwargs):
        """Pool connections like :class:`urllib3.PoolManager`, pinning the names in ``pins``."""
        super().__init__(**kwargs)
        self.pins = {name.lower(): address for name, address in pins.items()}

    def urlopen(self, method, url, redirect=True, **kw):
        """Send the request with a ``Host`` header naming the host (not the pinned address)."""
        headers = urllib3.HTTPHeaderDict(kw.get("headers") or self.headers)
        headers.setdefault("Host", urllib3.util.parse_url(url).netloc)
        return super().urlopen(method, url, redirect=redirect, **{**kw, "headers": headers})

    def _new_pool(self, scheme, host, port, request_context=None):
        """Open the pool for ``host`` on its pinned address (urllib3's documented override point)."""
        address = self.pins.get(host.lower())
        if address is None:
            raise urllib3.exceptions.HTTPError(f"{host} was not checked by the SSRF guard")
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        if scheme == "https":
            context.update(server_hostname=host, assert_hostname=host)
        return super()._new_pool(scheme, address, port, context)


def guarded_session(url: str, *, field: str = "url", allow_private: bool | None = None):
    """A ``requests`` session that reaches only the host of ``url`` (a URL a user typed), at the
    address the SSRF guard checked once; for calendar servers, webhooks and the like.

    Raises :class:`ConnectorValidationError` on ``field`` when ``url`` is not http(s) with a
    host, or when the host is refused (see :func:`resolve_public`). A redirect to another
    host fails: it was not checked.
    """
    import requests
    from requests.adapters import HTTPAdapter

    parsed = urllib3.util.parse_url(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConnectorValidationError(_("“%(url)s” is not an http(s) URL.", url=url), field=field,
                                       reason="invalid_url")
    address = resolve_public(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), field=field,
                             allow_private=allow_private)
    pins = {parsed.host.strip("[]"): address}

    class PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
            """Pool through :class:`PinnedPoolManager` (requests' documented adapter hook)."""
            self.poolmanager = PinnedPoolManager(pins, num_pools=connections, maxsize=maxsize, block=block,
                                                 **pool_kwargs)

    session = requests.Session()
    session.mount("http://", PinnedAdapter())
    session.mount("https://", PinnedAdapter())
    return session
