"""A fake OpenAI API on loopback: ``POST /v1/realtime/client_secrets`` as the real one answers.

Point the platform at it with ``OPENAI_BASE_URL=<fake.url>/v1``. Every accepted request body
is kept in :attr:`FakeOpenAI.client_secrets`; the answer is
``{"value": "ek_…", "expires_at": …, "session": {…}}`` like OpenAI's.
"""
from __future__ import annotations

import secrets
import time

from .http import FakeServer, Request, Response, json_response, route

__all__ = ["FakeOpenAI"]


class FakeOpenAI(FakeServer):
    """OpenAI's Realtime client-secret endpoint for one API key."""

    def __init__(self, api_key: str = "sk-test-fake-openai-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.client_secrets: list[dict] = []
        self.issued: list[str] = []

    def error_response(self, status: int, message: str | None = None) -> Response:
        """OpenAI's error shape."""
        return json_response({"error": {"message": message or "error", "type": "invalid_request_error",
                                        "param": None, "code": None}}, status)

    @route("POST", r"/v1/realtime/client_secrets")
    def create_client_secret(self, request: Request) -> Response:
        """Check the key and the body's shape, record it, and mint an ``ek_`` secret."""
        if request.bearer() != self.api_key:
            return self.error_response(401, "Incorrect API key provided.")
        body = request.json() or {}
        expires = body.get("expires_after", {"anchor": "created_at", "seconds": 600})
        session = body.get("session") or {}
        if expires.get("anchor") != "created_at" or not 10 <= int(expires.get("seconds", 0)) <= 7200:
            return self.error_response(400, "expires_after.seconds must be between 10 and 7200.")
        if session.get("type") != "realtime":
            return self.error_response(400, "session.type must be 'realtime'.")
        self.client_secrets.append(body)
        value = "ek_" + secrets.token_hex(16)
        self.issued.append(value)
        now = int(time.time())
        effective = {"object": "realtime.session", "id": "sess_" + secrets.token_hex(8), "expires_at": 0, **session}
        return json_response({"value": value, "expires_at": now + int(expires["seconds"]), "session": effective})
