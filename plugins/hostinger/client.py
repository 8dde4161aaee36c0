"""The one place that talks to the Hostinger API: read the domain portfolio with an API token.

Hostinger has no official Python SDK; its API is JSON over HTTPS with a Bearer token
(https://developers.hostinger.com), so the calls go through :func:`core.http_client.request_json`.
"""
from __future__ import annotations

from collections.abc import Mapping

from core import ConnectorValidationError, request_json
from core import N_, gettext as _

PROVIDER = "Hostinger"
DEFAULT_API_ROOT = "https://developers.hostinger.com"
REFUSED = N_("Hostinger refused the API token; create a new one in hPanel (Account → API).")
PORTFOLIO = "/api/domains/v1/portfolio"
DOMAIN_FIELDS = ("domain", "type", "status", "created_at", "expires_at")


def _token(values: Mapping[str, object]) -> str:
    """The stored API token; a missing one raises :class:`ConnectorValidationError`."""
    token = str(values.get("api_token") or "").strip()
    if not token:
        raise ConnectorValidationError(_("Enter a Hostinger API token."), field="api_token")
    return token


def list_domains(api_root: str, values: Mapping[str, object]) -> list[dict]:
    """The domains of the account, each with its type, status and dates.

    Unclaimed free domains (no name yet) are left out.
    """
    portfolio = request_json("GET", api_root.rstrip("/") + PORTFOLIO, _token(values), provider=PROVIDER)
    return [{name: item.get(name) for name in DOMAIN_FIELDS} for item in portfolio or [] if item.get("domain")]


def check_token(api_root: str, values: Mapping[str, object]) -> str:
    """Read the portfolio with the token for real and return the account label."""
    count = len(list_domains(api_root, values))
    return f"Hostinger account ({count} domain{'' if count == 1 else 's'})"
