"""A fake Hostinger API on loopback: the domain portfolio behind a Bearer API token.

It answers ``GET /api/domains/v1/portfolio`` with Hostinger's documented list of domains
(``id``, ``domain`` — null for an unclaimed free domain —, ``type``, ``status``,
``created_at``, ``expires_at``) and errors shaped ``{"message", "correlation_id"}``
(401 ``Unauthenticated.``).
"""
from __future__ import annotations

import uuid
from http import HTTPStatus

from tests.fakes.http import FakeServer, Request, Response, json_response, route

DOMAINS = [
    {"id": 101, "domain": "cassius.example", "type": "domain", "status": "active",
     "created_at": "2024-02-01T10:00:00Z", "expires_at": "2027-02-01T10:00:00Z"},
    {"id": 102, "domain": "old-brand.example", "type": "domain", "status": "expired",
     "created_at": "2023-05-10T10:00:00Z", "expires_at": "2025-05-10T10:00:00Z"},
    {"id": 103, "domain": None, "type": "free_domain", "status": "requested",
     "created_at": "2024-06-01T10:00:00Z", "expires_at": None},
]


class FakeHostinger(FakeServer):
    """Tokens in ``tokens`` may read ``domains`` (a copy of :data:`DOMAINS`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tokens: set[str] = set()
        self.domains = [dict(d) for d in DOMAINS]

    def error_response(self, status: int, message: str | None = None) -> Response:
        """Hostinger's error shape."""
        text = "Unauthenticated." if status == 401 else message or HTTPStatus(status).phrase
        return json_response({"message": text, "correlation_id": str(uuid.uuid4())}, status)

    @route("GET", r"/api/domains/v1/portfolio")
    def portfolio(self, request: Request) -> Response:
        if request.bearer() not in self.tokens:
            return self.error_response(401)
        return json_response(self.domains)
