"""Slack's OAuth v2 dialect: its token answers in RFC 6749 terms, and revocation with auth.revoke."""
from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)

#: Slack error codes of ``oauth.v2.access`` and their RFC 6749 equivalents.
TOKEN_ERRORS = {
    "invalid_code": "invalid_grant", "invalid_refresh_token": "invalid_grant", "bad_redirect_uri": "invalid_grant",
    "code_already_used": "invalid_grant", "invalid_code_verifier": "invalid_grant",
    "bad_client_secret": "invalid_client", "invalid_client_id": "invalid_client",
    "invalid_grant_type": "unsupported_grant_type",
}
KEPT = ("access_token", "refresh_token", "expires_in", "scope")


def token_response(data: dict) -> dict:
    """Rewrite an ``oauth.v2.access`` answer as an RFC 6749 token response.

    ``{"ok": false, "error": "invalid_code"}`` (sent with HTTP 200) becomes
    ``{"error": "invalid_grant"}``; a success keeps the bot token, its rotation fields and
    its comma-separated scopes, typed ``Bearer`` (Slack says ``bot``).
    """
    if not data.get("ok"):
        error = str(data.get("error") or "server_error")
        return {"error": TOKEN_ERRORS.get(error, error), "error_description": f"Slack answered {error}"}
    return {**{k: data[k] for k in KEPT if data.get(k) is not None}, "token_type": "Bearer"}


def revoke(provider, token: dict) -> bool:
    """Revoke the bot token with ``auth.revoke``; an expired rotating token is refreshed first.

    Returns whether Slack confirmed; never raises (the local disconnect happens anyway).
    """
    answer = _auth_revoke(provider.revoke_url, token["access_token"])
    if answer.get("error") == "token_expired" and token.get("refresh_token"):
        client = provider.session()
        try:
            fresh = client.refresh_token(provider.token_url, refresh_token=token["refresh_token"], timeout=10)
            answer = _auth_revoke(provider.revoke_url, fresh["access_token"])
        except Exception as exc:  # noqa: BLE001 - any failure only means "not confirmed"
            log.warning("Refreshing the Slack token to revoke it failed: %s", type(exc).__name__)
        finally:
            client.close()
    return bool(answer.get("ok") and answer.get("revoked"))


def _auth_revoke(url: str, access_token: str) -> dict:
    try:
        response = requests.post(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("Slack auth.revoke failed: %s", type(exc).__name__)
        return {}
