"""The one place that talks to Twilio's REST API (2010-04-01): fetch the account, send an SMS.

Plain ``requests`` through :func:`core.http_client.request_json` rather than the ``twilio``
SDK: the SDK hard-codes ``https://api.twilio.com`` per domain (only region and edge move it),
so honouring ``TWILIO_API_ROOT`` would need a URL-rewriting HTTP client, while the two calls
needed here are a GET and a form-encoded POST with Basic auth.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import requests

from core import ConnectorError, ConnectorValidationError, NeedsReauth, request_json
from core import N_, gettext as _

PROVIDER = "Twilio"
DEFAULT_API_ROOT = "https://api.twilio.com"
REFUSED = N_("Twilio refused the Account SID or Auth Token.")
MAX_BODY = 1600
_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
# An E.164 number, or an alphanumeric sender ID (1-11 letters, digits and spaces, one letter at least).
_SENDER_RE = re.compile(r"^(?:\+[1-9]\d{1,14}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$")

#: Twilio error codes (https://www.twilio.com/docs/api/errors) turned into stable errors:
#: code -> (our code, field, message).
KNOWN_ERRORS = {
    21211: ("invalid_input", "to", N_("“to” is not a valid phone number; give it in E.164 form, e.g. +14155550100.")),
    21614: ("invalid_input", "to", N_("“to” is not a mobile number that can receive SMS.")),
    21610: ("invalid_input", "to", N_("The recipient has opted out of messages from this number (replied STOP).")),
    21602: ("invalid_input", "body", N_("The message body is empty.")),
    21617: ("invalid_input", "body", N_("The message body is longer than %(max)s characters.")),
    21212: ("invalid_input", "from_number", N_("The connection's From number is not valid; reconnect Twilio "
                                               "with one of your Twilio numbers.")),
    21606: ("invalid_input", "from_number", N_("The connection's From number cannot send SMS; reconnect Twilio "
                                               "with an SMS-capable Twilio number.")),
    21659: ("invalid_input", "from_number", N_("The connection's From number is not a Twilio number of this "
                                               "account; reconnect Twilio with one of yours.")),
    21408: ("provider_error", "to", N_("This Twilio account may not send SMS to that country; enable it in "
                                       "Twilio's Messaging Geo Permissions.")),
}


class TwilioAccount:
    """The stored connection values: Account SID, Auth Token and From number."""

    __slots__ = ("sid", "token", "from_number")

    def __init__(self, values: Mapping[str, object]):
        """Read and check the values; a malformed one raises :class:`ConnectorValidationError` naming it."""
        self.sid = str(values.get("account_sid") or "").strip()
        self.token = str(values.get("auth_token") or "").strip()
        self.from_number = str(values.get("from_number") or "").strip()
        if not _SID_RE.match(self.sid):
            raise ConnectorValidationError(
                _("The Account SID starts with AC followed by 32 hexadecimal characters; copy it from the "
                  "Twilio Console."), field="account_sid")
        if not self.token:
            raise ConnectorValidationError(_("Enter the Auth Token from the Twilio Console."), field="auth_token")
        if not _SENDER_RE.match(self.from_number):
            raise ConnectorValidationError(
                _("The From number must be a Twilio phone number in E.164 form (e.g. +14155550100) or an "
                  "alphanumeric sender ID."), field="from_number")

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials."""
        return self.sid, self.token

    def __repr__(self) -> str:
        """Describe the account without its token."""
        return f"TwilioAccount({self.sid!r}, from {self.from_number!r})"


def explain(response: requests.Response) -> ConnectorError | None:
    """The stable error for Twilio's error answer ``response``, or None to use the status mapping."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    if response.status_code == 401 or code == 20003:
        return NeedsReauth(_("Twilio refused the Account SID or Auth Token. Reconnect Twilio with the current "
                             "Auth Token."), field="auth_token")
    if code in KNOWN_ERRORS:
        reason, field, message = KNOWN_ERRORS[code]
        return ConnectorError(_(message, max=MAX_BODY), code=reason, field=field, twilio_code=code)
    return None


def _account_url(api_root: str, account: TwilioAccount, suffix: str = ".json") -> str:
    return f"{api_root.rstrip('/')}/2010-04-01/Accounts/{account.sid}{suffix}"


def check_account(api_root: str, values: Mapping[str, object]) -> str:
    """Fetch the account with ``values`` for real and return its label (friendly name).

    Raises :class:`ConnectorValidationError` when the credentials are refused, the account is
    not active or Twilio cannot be reached.
    """
    account = TwilioAccount(values)
    data = request_json("GET", _account_url(api_root, account), auth=account.auth, provider=PROVIDER,
                        explain=explain)
    status = data.get("status", "active")
    if status != "active":
        raise ConnectorValidationError(_("The Twilio account %(sid)s is %(status)s; use an active account.",
                                         sid=account.sid, status=status),
                                       field="account_sid", reason="inactive")
    return data.get("friendly_name") or account.sid


def send_sms(api_root: str, values: Mapping[str, object], to: str, body: str) -> dict:
    """Send ``body`` to ``to`` from the connection's number; return the message's sid and status."""
    account = TwilioAccount(values)
    if not body.strip():
        raise ConnectorError(_("The message body is empty."), code="invalid_input", field="body")
    if len(body) > MAX_BODY:
        raise ConnectorError(_(KNOWN_ERRORS[21617][2], max=MAX_BODY), code="invalid_input", field="body")
    data = request_json("POST", _account_url(api_root, account, "/Messages.json"), auth=account.auth,
                        data={"To": to.strip(), "From": account.from_number, "Body": body},
                        provider=PROVIDER, explain=explain)
    return {"sid": data.get("sid"), "status": data.get("status"), "to": data.get("to"), "from": data.get("from")}
