"""Session tokens: verify the JWT, pin its algorithm, and find or create the user it names."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import requests
from flask import current_app, g, request
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConnectorError
from core.i18n import N_
from core.models import User
from core.origin import same_origin

HMAC_ALGORITHMS = ["HS256"]
PUBLIC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"]
FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c")
CLOCK_LEEWAY = 30
#: The longest subject and organization a token may carry (the ``users`` columns' lengths).
MAX_SUBJECT_LENGTH = 255
MAX_ORG_LENGTH = 128
#: At most this many roles of at most this many characters are read from the role claim.
MAX_ROLES, MAX_ROLE_LENGTH = 32, 64
#: Methods that change something: with the session cookie they must come from our own origin.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthError(Exception):
    """The request carries no valid session; the message says why (never the token)."""


class CrossSiteRequest(ConnectorError):
    """A cookie-authenticated write that did not come from our own origin (a forged cross-site request)."""

    code = "cross_site_request"
    http_status = 403


@dataclass(frozen=True)
class CurrentUser:
    """Who is calling: our user id plus the token's subject and organization."""

    id: int
    org_id: str
    external_id: str
    #: The roles the token's ``JWT_ROLE_CLAIM`` names (see :func:`core.permissions.may_write_for`).
    roles: frozenset[str] = frozenset()


class TokenVerifier:
    """Verifies session JWTs with the one algorithm family the configured key allows.

    A token that passed every check is remembered (by its SHA-256, with its claims) for at
    most ``remember_for`` seconds, the JWKS refresh period: a browser sends the same token
    on every request, and its signature and claims cannot change. Its expiry is checked
    again on every use, against ``clock``.
    """

    def __init__(self, config, remember_for: float = 300, max_remembered: int = 10_000, clock=time.time):
        self.config = config
        self.remember_for = remember_for
        self.max_remembered = max_remembered
        self.clock = clock
        self._verified: dict[bytes, tuple[dict, float]] = {}
        self._jwks: KeySet | None = None
        self._jwks_fetched = 0.0
        self._lock = threading.Lock()
        if config.jwt_secret:
            self.algorithms = HMAC_ALGORITHMS
            self._static_key = OctKey.import_key(config.jwt_secret)
        else:
            self.algorithms = PUBLIC_ALGORITHMS
            self._static_key = _public_key(config.jwt_public_key) if config.jwt_public_key else None

    def _key(self):
        if self._static_key is not None:
            return self._static_key
        with self._lock:
            if self._jwks is None or time.monotonic() - self._jwks_fetched > 300:
                response = requests.get(self.config.jwt_jwks_url, timeout=5)
                response.raise_for_status()
                self._jwks = KeySet.import_key_set(response.json())
                self._jwks_fetched = time.monotonic()
            return self._jwks

    def verify(self, token: str) -> dict:
        """Return the claims of a valid token, or raise :class:`AuthError`."""
        digest = hashlib.sha256(token.encode()).digest()
        now = self.clock()
        claims, verified_at = self._verified.get(digest, (None, 0.0))
        if claims is not None and now - verified_at < self.remember_for:
            if claims["exp"] <= now - CLOCK_LEEWAY:
                raise AuthError(N_("Your session has expired: sign in again."))
            return claims
        claims = self._verify(token)
        if len(self._verified) >= self.max_remembered:
            self._verified.clear()
        self._verified[digest] = (claims, now)
        return claims

    def _verify(self, token: str) -> dict:
        header = _unverified_header(token)
        if header.get("alg") not in self.algorithms:
            raise AuthError(f"Token algorithm {header.get('alg')!r} is not accepted")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise AuthError("Tokens carrying their own key (jwk/jku/x5u/x5c) are refused")
        try:
            decoded = jwt.decode(token, self._key(), algorithms=self.algorithms)
        except (JoseError, ValueError) as exc:
            raise AuthError(f"Token signature is invalid ({type(exc).__name__})") from None
        claims = decoded.claims
        registry = JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            exp={"essential": True},
            sub={"essential": True},
            **({"iss": {"essential": True, "value": self.config.jwt_issuer}} if self.config.jwt_issuer else {}),
            **({"aud": {"essential": True, "value": self.config.jwt_audience}} if self.config.jwt_audience else {}),
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise AuthError(N_("Your session has expired: sign in again.")) from None
        except JoseError as exc:
            raise AuthError(f"Token claims are invalid: {exc.description or exc.error}") from None
        org = claims.get(self.config.jwt_org_claim)
        if isinstance(org, bool) or not isinstance(org, (str, int)) or not _printable(str(org), MAX_ORG_LENGTH):
            raise AuthError(f"Token needs a {self.config.jwt_org_claim!r} claim of 1 to {MAX_ORG_LENGTH} "
                            "printable characters")
        if not isinstance(claims["sub"], str) or not _printable(claims["sub"], MAX_SUBJECT_LENGTH):
            raise AuthError(f"Token subject must be a string of 1 to {MAX_SUBJECT_LENGTH} printable characters")
        return claims


def _printable(value: str, limit: int) -> bool:
    """Whether ``value`` is 1 to ``limit`` characters, none of them a control character (NUL…)."""
    return 0 < len(value) <= limit and value.isprintable()


def roles_of(claims: dict, claim: str) -> frozenset[str]:
    """The roles a token's ``claim`` names: a list of strings, or one string of space- or comma-separated
    names. Anything else (and roles beyond :data:`MAX_ROLES` or longer than :data:`MAX_ROLE_LENGTH`)
    is ignored: a malformed role claim grants nothing."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(role for role in value[:MAX_ROLES]
                     if isinstance(role, str) and _printable(role, MAX_ROLE_LENGTH))


def _public_key(pem: str):
    for key_type in (RSAKey, ECKey):
        try:
            return key_type.import_key(pem)
        except (ValueError, TypeError):
            continue
    raise ValueError("JWT_PUBLIC_KEY must be an RSA or EC public key in PEM")


def _unverified_header(token: str) -> dict:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        raise AuthError("Token is not a JWT") from None
    if not isinstance(header, dict):
        raise AuthError("Token is not a JWT")
    return header


def mint_token(config, user: str, org: str, ttl: int = 3600, roles: tuple[str, ...] = ()) -> str:
    """Mint an HS256 session token with ``JWT_SECRET`` (development and tests only); ``roles`` go in
    the ``JWT_ROLE_CLAIM`` claim."""
    if not config.jwt_secret:
        raise RuntimeError("mint_token needs JWT_SECRET")
    now = int(time.time())
    claims = {"sub": user, config.jwt_org_claim: org, "iat": now, "nbf": now, "exp": now + ttl}
    if roles:
        claims[config.jwt_role_claim] = list(roles)
    if config.jwt_issuer:
        claims["iss"] = config.jwt_issuer
    if config.jwt_audience:
        claims["aud"] = config.jwt_audience
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(config.jwt_secret))


def token_from_request() -> str | None:
    """The bearer token of this request (``Authorization`` header first, then the ``session`` cookie)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization header must be 'Bearer <token>'")
        return value.strip()
    return request.cookies.get("session") or None


def user_for_claims(session, org_id: str, external_id: str) -> User:
    """Find the user named by a token's org and subject, creating it on first sight."""
    query = select(User).where(User.org_id == org_id, User.external_id == external_id)
    user = session.scalars(query).first()
    if user is None:
        user = User(org_id=org_id, external_id=external_id)
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            user = session.scalars(query).one()
    return user


class UserDirectory:
    """Maps a token's (org, sub) to our user id, remembering ids already seen.

    User rows are never renamed or re-keyed, so a known pair costs no database round trip;
    only a first sighting reads (and maybe creates) the row. Bounded by ``max_size``.
    """

    def __init__(self, max_size: int = 50_000):
        self.max_size = max_size
        self._ids: dict[tuple[str, str], int] = {}

    def user(self, open_session: Callable[[], Session], org_id: str, external_id: str) -> CurrentUser:
        """The user named by ``org_id`` and ``external_id``; ``open_session()`` is called only to
        read (or create) a user not seen yet."""
        key = (org_id, external_id)
        user_id = self._ids.get(key)
        if user_id is None:
            session = open_session()
            user_id = user_for_claims(session, org_id, external_id).id
            session.rollback()  # end the read transaction: no connection is held during the view
            if len(self._ids) >= self.max_size:
                self._ids.clear()
            self._ids[key] = user_id
        return CurrentUser(id=user_id, org_id=org_id, external_id=external_id)


def authenticate(open_session: Callable[[], Session]) -> CurrentUser:
    """Authenticate the current request and remember the user in ``g.user`` (``open_session``
    gives the request's database session, needed only for a user not seen yet).

    A write (POST, PUT, PATCH, DELETE) authenticated by the ``session`` cookie must come from
    our own origin (:func:`core.origin.same_origin`), else :class:`CrossSiteRequest`; a Bearer
    token is never sent by a browser on its own, so Bearer requests are not checked.
    """
    token = token_from_request()
    if not token:
        raise AuthError(N_("Sign in to continue."))
    verifier: TokenVerifier = current_app.extensions["connectors.verifier"]
    claims = verifier.verify(token)
    config = verifier.config
    if request.method in UNSAFE_METHODS and "Authorization" not in request.headers \
            and not same_origin(request, config):
        raise CrossSiteRequest("This change must come from the dashboard's own page (cross-site request refused).")
    directory: UserDirectory = current_app.extensions["connectors.users"]
    user = directory.user(open_session, str(claims[config.jwt_org_claim]), claims["sub"])
    g.user = replace(user, roles=roles_of(claims, config.jwt_role_claim))
    return g.user


def public(view):
    """Declare a view reachable without a session (a provider's redirect, health, a webhook
    verified by its own token): decorate a view function, or set ``public = True`` on a
    ``MethodView`` class. Every other ``/api/`` view requires a session, whatever its path."""
    view.public = True
    return view


def is_public(view) -> bool:
    """Whether ``view`` (a view function, or the function Flask made of a ``MethodView``) is public."""
    return bool(getattr(view, "public", False) or getattr(getattr(view, "view_class", None), "public", False))


def current_user() -> CurrentUser:
    """The authenticated user of this request."""
    return g.user
