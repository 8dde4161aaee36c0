"""A fake Twilio REST API (2010-04-01) on loopback: fetch an account, create a message.

It speaks Twilio's wire format: HTTP Basic auth with the Account SID and Auth Token,
form-encoded message parameters (``To``, ``From``, ``Body``), JSON resources, and errors
shaped ``{"code", "message", "more_info", "status"}`` with Twilio's error codes (20003
authentication, 21211 invalid 'To', 21602 missing body, 21659 'From' not of this account).
"""
from __future__ import annotations

import re
import uuid
from email.utils import formatdate

from tests.fakes.http import FakeServer, Request, Response, json_response, route

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class FakeTwilio(FakeServer):
    """Accounts added with :meth:`add_account`; sent messages are kept in ``messages``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.accounts: dict[str, dict] = {}
        self.messages: list[dict] = []

    def add_account(self, sid: str, token: str, numbers=("+14155550100",), friendly_name: str = "Alice's account",
                    status: str = "active") -> None:
        """Add an account with its Auth Token and the phone numbers it owns."""
        self.accounts[sid] = {"token": token, "numbers": set(numbers), "friendly_name": friendly_name,
                              "status": status}

    def error_response(self, status: int, message: str | None = None, code: int | None = None) -> Response:
        """Twilio's error shape."""
        code = code or {401: 20003, 404: 20404, 429: 20429}.get(status, 20500)
        return json_response({"code": code, "message": message or "Error", "status": status,
                              "more_info": f"https://www.twilio.com/docs/errors/{code}"}, status)

    def _authenticated(self, request: Request, sid: str) -> dict | None:
        credentials = request.basic()
        account = self.accounts.get(sid)
        if credentials is None or account is None or credentials != (sid, account["token"]):
            return None
        return account

    @route("GET", r"/2010-04-01/Accounts/(?P<sid>AC\w+)\.json")
    def fetch_account(self, request: Request, sid: str) -> Response:
        account = self._authenticated(request, sid)
        if account is None:
            return self.error_response(401, "Authenticate")
        return json_response({"sid": sid, "friendly_name": account["friendly_name"], "status": account["status"],
                              "type": "Full", "date_created": formatdate(usegmt=True),
                              "uri": f"/2010-04-01/Accounts/{sid}.json"})

    @route("POST", r"/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json")
    def create_message(self, request: Request, sid: str) -> Response:
        account = self._authenticated(request, sid)
        if account is None:
            return self.error_response(401, "Authenticate")
        form = request.form()
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not E164.match(to):
            return self.error_response(400, f"The 'To' number {to} is not a valid phone number.", 21211)
        if sender not in account["numbers"]:
            return self.error_response(
                400, f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or "
                     "short code for your account.", 21659)
        if not body:
            return self.error_response(400, "Message body is required.", 21602)
        message = {"sid": "SM" + uuid.uuid4().hex, "account_sid": sid, "to": to, "from": sender, "body": body,
                   "status": "queued", "num_segments": "1", "direction": "outbound-api",
                   "date_created": formatdate(usegmt=True), "error_code": None, "error_message": None,
                   "uri": f"/2010-04-01/Accounts/{sid}/Messages.json"}
        self.messages.append(message)
        return json_response(message, 201)
