"""Google APIs shared by the Google connectors (not a plugin): discovery clients, the API-root override, errors.

Service objects are built once per process from the discovery document bundled with
google-api-python-client (no network) and shared; every call gets its own authorized
``httplib2`` transport, because httplib2 is not thread-safe.
"""
from __future__ import annotations

import functools
import json
import threading

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError  # noqa: F401  (re-exported for the connectors)

from core import ConnectorError, NeedsReauth, NotFound, OAuthSpec, ProviderError, RateLimited
from core import gettext as _

DEFAULT_ROOT = {"calendar": "https://www.googleapis.com/", "gmail": "https://gmail.googleapis.com/"}
#: Appended to the root: the discovery document's ``servicePath`` (Gmail's is empty: its
#: method paths already start with ``gmail/v1/``).
SERVICE_PATH = {"calendar": "calendar/v3/", "gmail": ""}
_lock = threading.Lock()


def oauth_spec(*scopes: str, optional: tuple[str, ...] = ()) -> OAuthSpec:
    """Google's OAuth server (``GOOGLE_*`` variables) asking for ``scopes`` with offline access.

    ``optional`` scopes are asked too, but a user may untick them on the consent screen.

    Every Google connector shares the one Google client: ``GOOGLE_CLIENT_ID``/``_SECRET``
    and the endpoint overrides ``GOOGLE_AUTH_URI``/``_TOKEN_URI``/``_REVOKE_URI``.
    """
    return OAuthSpec(
        env_prefix="GOOGLE",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        revoke_url="https://oauth2.googleapis.com/revoke",
        issuer="https://accounts.google.com",
        scopes=tuple(scopes),
        optional_scopes=tuple(optional),
        extra_authorize_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "false"},
        # A scope added later (Phase B's busy times) is asked alone and joins the earlier grant.
        incremental_params={"include_granted_scopes": "true"},
    )


def client_problems(platform, key: str) -> list[str]:
    """In production, Google connector ``key`` installed without the Google client stops start-up."""
    if not platform.config.is_production or platform.connector(key) is None:
        return []
    missing = platform.missing_variables(key)
    if not missing:
        return []
    return [f"{key} is enabled but {', '.join(missing)} is not set (or disable it with CONNECTORS_DISABLED={key})"]


@functools.lru_cache(maxsize=32)
def service(api: str, version: str, api_root: str | None):
    """The discovery client of ``api``, its root replaced by ``GOOGLE_API_ROOT`` when set."""
    root = api_root or DEFAULT_ROOT[api]
    with _lock:
        return build(api, version, http=httplib2.Http(), static_discovery=True, cache_discovery=False,
                     client_options={"api_endpoint": root.rstrip("/") + "/" + SERVICE_PATH[api]})


def authorized_http(access_token: str, timeout: float = 20) -> AuthorizedHttp:
    """A fresh transport sending ``access_token`` (never refreshing on its own)."""
    return AuthorizedHttp(Credentials(token=access_token), http=httplib2.Http(timeout=timeout), refresh_status_codes=())


def reason_of(error: HttpError) -> str:
    """Google's ``errors[0].reason`` of an API error (e.g. ``rateLimitExceeded``), or ''."""
    try:
        payload = json.loads(error.content.decode())["error"]
        return (payload.get("errors") or [{}])[0].get("reason") or payload.get("status", "")
    except (ValueError, KeyError, AttributeError, TypeError):
        return ""


def is_retryable(error: HttpError) -> bool:
    """429, 5xx and 403 rate-limit reasons are worth retrying with backoff."""
    status = error.resp.status
    return status == 429 or status >= 500 or (
        status == 403 and reason_of(error) in ("rateLimitExceeded", "userRateLimitExceeded"))


def execute(credentials, user_id: int, key: str, make_request):
    """Run ``make_request().execute(http=...)`` as the user; on a 401 refresh once and retry.

    Errors become :class:`core.errors.ConnectorError` with stable codes (``rate_limited``,
    ``not_found``, ``provider_error``; Google out of reach — refused, reset, unknown host,
    timed out — is a ``provider_error`` too); :class:`core.errors.NeedsReauth` passes through.
    """
    token = credentials.access_token(user_id, key)
    try:
        try:
            return make_request().execute(http=authorized_http(token))
        except HttpError as exc:
            if exc.resp.status != 401:
                raise
            token = credentials.access_token(user_id, key, rejected=token)
            return make_request().execute(http=authorized_http(token))
    except HttpError as exc:
        raise as_connector_error(exc) from None
    except (httplib2.HttpLib2Error, OSError):
        raise ProviderError(_("%(provider)s could not be reached; try again.", provider="Google")) from None


def as_connector_error(error: HttpError) -> ConnectorError:
    """Map a Google API error to a stable, speakable :class:`ConnectorError`."""
    status = error.resp.status
    if is_retryable(error) and status < 500:
        return RateLimited(_("%(provider)s is rate limiting these requests; try again in a minute.", provider="Google"))
    if status == 404:
        return NotFound(_("%(provider)s could not find that item.", provider="Google"))
    if status == 401:
        return NeedsReauth(_("%(provider)s refused the access token; reconnect %(provider)s.", provider="Google"))
    return ProviderError(_("%(provider)s answered with an error (%(status)s); try again later.", provider="Google",
                           status=status))
