"""The authorization-code flow: start (state + PKCE), finish (checks, exchange, storage).

``state`` is ``<nonce>.<hmac>``: the nonce names a single-use ``oauth_states`` row holding
the user, the connector, the encrypted PKCE verifier and the hash of a browser-binding
cookie; the HMAC lets a forged state be refused before any database work.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from sqlalchemy import update

from core.crypto import associated_data
from core.i18n import _l
from core.models import OAuthState, utcnow
from core.oauth.provider import resolve

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
BROWSER_COOKIE = "connectors_oauth"


#: What a person reads for each ``error`` code the callback sends to the front end: the one table
#: (the callback page shows it; a front end at ``FRONTEND_URL`` may show its own words per code).
MESSAGES = {
    "access_denied": _l("You declined the request on the provider's consent screen."),
    "provider_error": _l("The provider could not complete the sign-in. Try again."),
    "invalid_state": _l("The sign-in link is not valid. Start again from the dashboard."),
    "state_used": _l("This sign-in link was already used. Start again from the dashboard."),
    "state_expired": _l("The sign-in took too long. Start again from the dashboard."),
    "browser_mismatch": _l("Finish the sign-in in the browser that started it."),
    "connector_mismatch": _l("This sign-in was started for another connector."),
    "issuer_mismatch": _l("The answer came from an unexpected issuer."),
    "exchange_failed": _l("The provider refused or could not complete the sign-in. Try again."),
    "insufficient_scope": _l("Some permissions were not granted. Connect again and keep every box ticked."),
    "account_lookup_failed": _l("Connected, but the account could not be read. Try again."),
}
UNKNOWN = _l("The connection could not be completed. Try again.")


def message_for(code: str) -> str:
    """The words for callback error ``code``, in the request's language."""
    return str(MESSAGES.get(code, UNKNOWN))


class FlowError(Exception):
    """The flow cannot finish; ``code`` is the stable value sent to the front end (its words:
    :data:`MESSAGES`); ``detail`` says more for the log only."""

    def __init__(self, code: str, detail: str = "", connector: str | None = None):
        super().__init__(detail or code)
        self.code, self.detail, self.connector = code, detail, connector

    @property
    def message(self) -> str:
        return message_for(self.code)


@dataclass
class Started:
    """What ``start`` returns: where to send the browser, and the cookie binding it."""

    authorization_url: str
    browser_secret: str


@dataclass
class Finished:
    """What ``finish`` returns: who connected what, with which token."""

    user_id: int
    connector: str
    token: dict
    return_path: str | None


#: The HKDF ``info`` of the key that signs ``state`` (derived from the newest encryption key).
STATE_KEY_INFO = b"connectors oauth state v1"
#: The longest ``state`` and return path accepted.
MAX_STATE_LENGTH = 256
MAX_RETURN_PATH = 2048


def _sign(cipher, nonce: str) -> str:
    return hmac.new(cipher.derive_key(STATE_KEY_INFO), nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _valid_state(cipher, state: str) -> str | None:
    """The nonce of a ``state`` we signed, else None (compared as bytes: a non-ASCII state is just invalid)."""
    if not state or len(state) > MAX_STATE_LENGTH or not state.isascii():
        return None
    nonce, _, signature = state.partition(".")
    if not nonce or not hmac.compare_digest(signature.encode(), _sign(cipher, nonce).encode()):
        return None
    return nonce


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def safe_return_path(value: str | None, frontend_url: str) -> str | None:
    """``value`` as a path on ``FRONTEND_URL`` (``/path?query#fragment``), or None (no open redirect).

    Accepted: a path starting with one ``/``, or an absolute URL on ``FRONTEND_URL`` (made a path).
    Refused: anything longer than :data:`MAX_RETURN_PATH`, non-ASCII, with a backslash, a control
    character or white space (a browser reads ``/\\host`` as another host), or
    another scheme or host.
    """
    if not value or len(value) > MAX_RETURN_PATH or not value.isascii() or not value.isprintable() \
            or "\\" in value or " " in value:
        return None
    try:
        parsed, front = urlsplit(value), urlsplit(frontend_url)
    except ValueError:
        return None
    if (parsed.scheme or parsed.netloc) and (parsed.scheme.lower(), parsed.netloc.lower()) != (
            front.scheme.lower(), front.netloc.lower()):
        return None
    path = parsed.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return urlunsplit(("", "", path, parsed.query, parsed.fragment))


def start(session, cipher, config, spec, user_id: int, browser_secret: str | None, return_path: str | None,
          scopes: tuple[str, ...] | None = None) -> Started:
    """Create a state row and the provider's authorization URL (PKCE S256, minimal scopes).

    ``scopes`` (declared ones, for a user already connected) asks for those only, with the
    spec's ``incremental_params``: the provider adds them to the earlier grant, and its token
    answer carries every scope granted so far (incremental authorization).
    """
    provider = resolve(spec, config)
    params = dict(spec.oauth.extra_authorize_params)
    if scopes:
        params.update(spec.oauth.incremental_params)
    browser_secret = browser_secret or secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = generate_token(64) if spec.oauth.pkce else None
    row = OAuthState(
        nonce=nonce, user_id=user_id, connector_code=spec.key, browser_hash=_hash(browser_secret),
        return_path=safe_return_path(return_path, config.frontend_url),
        expires_at=utcnow() + STATE_TTL,
        code_verifier=cipher.encrypt(verifier, associated_data("oauth_states", "code_verifier", user_id, spec.key))
        if verifier else None,
    )
    purge_expired(session)
    session.add(row)
    client = provider.session(scopes=scopes)
    url, _ = client.create_authorization_url(
        provider.authorize_url, state=f"{nonce}.{_sign(cipher, nonce)}", code_verifier=verifier, **params)
    client.close()
    return Started(url, browser_secret)


def finish(session, cipher, config, registry, path_connector: str, args, browser_secret: str | None) -> Finished:
    """Check the callback, consume its state once, and exchange the code for a token.

    Raises :class:`FlowError` with a stable code: ``invalid_state``, ``state_expired``,
    ``state_used``, ``browser_mismatch``, ``connector_mismatch``, ``access_denied``,
    ``provider_error``, ``issuer_mismatch``, ``exchange_failed``, ``insufficient_scope``
    (their words: :data:`MESSAGES`).
    """
    nonce = _valid_state(cipher, args.get("state", ""))
    if nonce is None:
        raise FlowError("invalid_state", "forged or malformed state", path_connector)
    row = session.query(OAuthState).filter_by(nonce=nonce).first()
    if row is None:
        raise FlowError("invalid_state", "no such state", path_connector)
    key = row.connector_code
    spec = registry.connector(key)
    path_spec = registry.connector(path_connector)
    if spec is None or path_spec is None or (
            key != path_connector and spec.oauth.env_prefix != getattr(path_spec.oauth, "env_prefix", None)):
        raise FlowError("connector_mismatch", "state of another connector", path_connector)
    if row.used_at is not None:
        raise FlowError("state_used", "state already used", key)
    if row.expires_at < utcnow():
        raise FlowError("state_expired", "state expired", key)
    if not browser_secret or not hmac.compare_digest(_hash(browser_secret), row.browser_hash):
        raise FlowError("browser_mismatch", "browser cookie missing or different", key)
    consumed = session.execute(update(OAuthState).where(OAuthState.id == row.id, OAuthState.used_at.is_(None))
                               .values(used_at=utcnow()))
    session.commit()
    if consumed.rowcount != 1:
        raise FlowError("state_used", "state used by a concurrent callback", key)
    if args.get("error"):
        code = "access_denied" if args.get("error") == "access_denied" else "provider_error"
        raise FlowError(code, f"the provider answered {str(args.get('error'))[:64]!r}", key)
    issuer = spec.oauth.issuer
    if "iss" in args and issuer and args.get("iss") != issuer:
        raise FlowError("issuer_mismatch", f"iss {str(args.get('iss'))[:200]!r}", key)
    if not args.get("code"):
        raise FlowError("exchange_failed", "no code", key)
    verifier = (cipher.decrypt(row.code_verifier, associated_data("oauth_states", "code_verifier", row.user_id, key))
                if row.code_verifier else None)
    token = _exchange(resolve(spec, config), args["code"], verifier, key)
    _check_scopes(spec, token, key)
    return Finished(row.user_id, key, token, row.return_path)


def _exchange(provider, code, verifier, key) -> dict:
    client = provider.session()
    try:
        token = client.fetch_token(provider.token_url, code=code, code_verifier=verifier,
                                   grant_type="authorization_code", timeout=15)
    except OAuthError as exc:
        log.warning("Code exchange for %s refused: %s", key, exc.error)
        raise FlowError("exchange_failed", f"token endpoint refused: {exc.error}", key) from None
    except Exception as exc:
        log.warning("Code exchange for %s failed: %s", key, type(exc).__name__)
        raise FlowError("exchange_failed", f"token endpoint failed: {type(exc).__name__}", key) from None
    finally:
        client.close()
    if not token.get("access_token"):
        raise FlowError("exchange_failed", "no access_token in the answer", key)
    return dict(token)


def _check_scopes(spec, token, key) -> None:
    granted = token.get("scope")
    if granted is None:
        return
    granted = set(granted.replace(",", " ").split() if isinstance(granted, str) else granted)
    missing = set(spec.oauth.scopes) - set(spec.oauth.optional_scopes) - granted
    if missing:
        raise FlowError("insufficient_scope", "missing " + " ".join(sorted(missing)), key)


def purge_expired(session) -> int:
    """Delete states that expired over a day ago; returns how many."""
    cutoff = utcnow() - timedelta(days=1)
    return session.query(OAuthState).filter(OAuthState.expires_at < cutoff).delete()
