"""Calendar calls as one user: single requests or Google batch requests, refreshing once on a 401.

The access token comes from the platform's credentials store. When Google answers 401 (to a
single call or to parts of a batch), google-api-python-client asks the credentials to
refresh: that goes through the store's single-flight refresh with ``rejected=`` the refused
token, then the refused calls are sent once more.
"""
from __future__ import annotations

import functools

import httplib2
from google.auth.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.http import BatchHttpRequest

from core import ProviderError
from core import gettext as _
from plugins import google

CONNECTOR = "google_calendar"
BATCH_LIMIT = 50
TIMEOUT = 20


@functools.lru_cache(maxsize=8)
def resources(api_root: str | None):
    """The shared ``events``, ``calendarList`` and ``channels`` resources (each costs ~3 ms and 0.5 MB to make)."""
    service = google.service("calendar", "v3", api_root)
    return service.events(), service.calendarList(), service.channels()


class StoreCredentials(Credentials):
    """google-auth credentials whose refresh asks the platform's credentials store."""

    def __init__(self, store, user_id: int):
        super().__init__()
        self.store, self.user_id = store, user_id
        self.token = store.access_token(user_id, CONNECTOR)

    def refresh(self, request) -> None:
        """Get a new token (raises :class:`core.errors.NeedsReauth` when the grant is gone)."""
        self.token = self.store.access_token(self.user_id, CONNECTOR, rejected=self.token)


class Caller:
    """Sends Calendar requests for one user through one transport (one per run: httplib2 is not thread-safe)."""

    def __init__(self, store, user_id: int, api_root: str | None):
        self.api_root = api_root or google.DEFAULT_ROOT["calendar"]
        self.events, self.calendar_list, self.channels = resources(api_root)
        self.http = AuthorizedHttp(StoreCredentials(store, user_id), http=httplib2.Http(timeout=TIMEOUT),
                                   refresh_status_codes=(401,), max_refresh_attempts=1)

    def run(self, requests: list) -> list[tuple[dict | None, Exception | None]]:
        """Execute ``requests`` (one call, or Google batches of up to 50); ``(response, error)`` each.

        Google out of reach (refused, reset, unknown host, timed out) raises
        :class:`core.ProviderError`, as :func:`plugins.google.execute` does.
        """
        try:
            return self._run(requests)
        except (httplib2.HttpLib2Error, OSError):
            raise ProviderError(_("%(provider)s could not be reached; try again.", provider="Google")) from None

    def _run(self, requests: list) -> list[tuple[dict | None, Exception | None]]:
        if len(requests) == 1:
            try:
                return [(requests[0].execute(http=self.http), None)]
            except google.HttpError as exc:
                return [(None, exc)]
        results: dict[str, tuple] = {}
        for start in range(0, len(requests), BATCH_LIMIT):
            batch = BatchHttpRequest(batch_uri=self.api_root + "batch/calendar/v3",
                                     callback=lambda rid, response, error: results.__setitem__(rid, (response, error)))
            for index, request in enumerate(requests[start:start + BATCH_LIMIT], start):
                batch.add(request, request_id=str(index))
            batch.execute(http=self.http)
        return [results[str(index)] for index in range(len(requests))]
