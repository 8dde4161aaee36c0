"""The one place that talks CalDAV (RFC 4791): log in, discover, list calendars, read and write objects.

Every connection goes through :func:`connect`, which gives the `caldav` client core's
:func:`core.guarded_session` for the URL the user typed: the host is resolved once and must be
public (or allowed by ``CONNECTORS_ALLOW_PRIVATE_HOSTS``); the session then reaches that checked
address only and refuses any other host, redirects included.
Plain ``http://`` is refused unless private hosts are allowed: an app password never crosses
the internet unencrypted.

Discovery follows RFC 6764 §5 and RFC 4791 §6.2.1: a URL without a path starts at
``/.well-known/caldav``, then the ``current-user-principal``, then its ``calendar-home-set``
(the `caldav` library does the WebDAV). A calendar's id is its path on the server, never a
full URL, so a setting cannot point the connection at another host.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import caldav
import requests
from caldav.lib import error as dav_error

from core import (N_, ConnectorError, ConnectorValidationError, NeedsReauth, RateLimited, guarded_session,
                  private_hosts_allowed)

log = logging.getLogger(__name__)

PROVIDER = "CalDAV"
TIMEOUT = 15
WELL_KNOWN = "/.well-known/caldav"
REFUSED = N_("The CalDAV server refused this username and password. Use an app-specific password "
              "(iCloud: appleid.apple.com → App-Specific Passwords; Fastmail: Settings → Privacy & Security "
              "→ App passwords).")


@dataclass(frozen=True)
class Account:
    """The connection settings of one CalDAV account, read from the stored config values."""

    url: str
    username: str
    password: str

    @classmethod
    def from_values(cls, values: Mapping[str, object]) -> Account:
        """Read and check ``url``, ``username`` and ``password``; a bad one raises
        :class:`core.ConnectorValidationError` naming the field."""
        url = str(values.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConnectorValidationError(N_("Enter the CalDAV server's address, e.g. https://caldav.icloud.com."),
                                           field="url")
        if parts.scheme == "http" and not private_hosts_allowed():
            raise ConnectorValidationError(N_("The CalDAV address must start with https://."), field="url")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ConnectorValidationError(N_("Enter the CalDAV address without credentials, query or fragment."),
                                           field="url")
        username, password = str(values.get("username") or ""), str(values.get("password") or "")
        if not username.strip():
            raise ConnectorValidationError(N_("Enter your CalDAV username (often your email address)."),
                                           field="username")
        if not password:
            raise ConnectorValidationError(N_("Enter an app-specific password."), field="password")
        return cls(url, username.strip(), password)

    @property
    def host(self) -> str:
        """The server's host name, lower case."""
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int:
        """The server's port."""
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the server."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    @property
    def label(self) -> str:
        """The account as the dashboard shows it: ``username @ host``."""
        return f"{self.username} @ {self.host}"

    def url_of(self, path: str) -> str:
        """The absolute URL of ``path`` on this server; a path that could leave it is refused."""
        if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") or "\\" in path:
            raise ConnectorError(N_("This calendar is not on the connected CalDAV server; pick one of its calendars."),
                                 code="invalid_input", field="calendar_id")
        return self.origin + path


@contextmanager
def connect(account: Account, url: str | None = None) -> Iterator[caldav.DAVClient]:
    """A :class:`caldav.DAVClient` for ``account`` (starting at ``url``, default the account's)
    through the SSRF guard; CalDAV failures raise :class:`core.ConnectorError`\\ s (:func:`translated`)."""
    session = guarded_session(account.url, field="url")
    client = caldav.DAVClient(url=url or account.url, username=account.username, password=account.password,
                              auth_type="basic", timeout=TIMEOUT, enable_rfc6764=False)
    client.session.close()
    client.session = session
    try:
        with translated():
            yield client
    finally:
        client.close()


@contextmanager
def translated() -> Iterator[None]:
    """Turn the `caldav` library's and the network's failures into stable :class:`core.ConnectorError`\\ s."""
    try:
        yield
    except ConnectorError:
        raise
    except dav_error.AuthorizationError:
        raise NeedsReauth(REFUSED) from None
    except dav_error.RateLimitError as exc:
        seconds = int(exc.retry_after_seconds) if getattr(exc, "retry_after_seconds", None) else None
        raise RateLimited(N_("The CalDAV server is rate limiting these requests; try again later."),
                          retry_after=seconds) from None
    except dav_error.NotFoundError:
        raise ConnectorError(N_("The CalDAV server could not find that calendar or event."), code="not_found") from None
    except dav_error.DAVError as exc:
        log.warning("CalDAV request failed: %s (%s)", type(exc).__name__, getattr(exc, "status", None))
        raise ConnectorError(N_("The CalDAV server answered with an error; try again later.")) from None
    except requests.RequestException as exc:
        log.warning("CalDAV server unreachable: %s", type(exc).__name__)
        raise ConnectorError(N_("The CalDAV server could not be reached; check the address and try again.")) from None


@contextmanager
def session(account: Account) -> Iterator[tuple[caldav.DAVClient, caldav.Principal]]:
    """A client logged in as ``account`` and its principal, found from the URL or through
    ``/.well-known/caldav`` (first when the URL has no path, RFC 6764 §5)."""
    starts = [account.url]
    well_known = account.origin + WELL_KNOWN
    if urlsplit(account.url).path in ("", "/"):
        starts.insert(0, well_known)
    else:
        starts.append(well_known)
    for n, start in enumerate(starts):
        with connect(account, start) as client:
            try:
                found = client.principal()
            except (dav_error.NotFoundError, dav_error.PropfindError, dav_error.ResponseError):
                if n < len(starts) - 1:
                    continue
                raise ConnectorValidationError(N_("No CalDAV account was found at this address; check the URL."),
                                               field="url", reason="not_caldav") from None
            yield client, found
            return


def calendars(account: Account) -> list[dict]:
    """The account's calendars as ``{"id": path, "summary": display name}``, sorted by name."""
    with session(account) as (_, principal):
        found = principal.calendars()
        listed = [{"id": urlsplit(str(c.url)).path, "summary": c.get_display_name() or c.url.path.strip("/")}
                  for c in found]
    return sorted(listed, key=lambda c: (c["summary"].lower(), c["id"]))


def calendar(client: caldav.DAVClient, account: Account, calendar_id: str) -> caldav.Calendar:
    """The calendar at path ``calendar_id`` on the account's server (no request is made)."""
    return client.calendar(url=account.url_of(calendar_id))
