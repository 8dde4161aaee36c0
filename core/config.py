"""Configuration from environment variables, typed and checked once at start-up."""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """A variable is missing or malformed; the message names it and says what to set."""


@dataclass(frozen=True)
class Config:
    """The platform's settings. Build it with :func:`load_config`."""

    app_env: str
    instance_path: Path
    database_url: str
    redis_url: str | None
    encryption_keys: tuple[str, ...]
    app_base_url: str
    backend_url: str
    frontend_url: str
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_jwks_url: str | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwt_org_claim: str
    openai_api_key: str | None
    openai_base_url: str | None
    openai_realtime_model: str
    #: Lifetime of a Realtime client secret, in seconds (OpenAI accepts 10 to 7200).
    openai_realtime_secret_ttl: int = 600
    #: Rate of ``POST /api/v1/realtime/client-secret`` per user (``limits`` syntax, as Flask-Limiter's).
    realtime_rate_limit: str = "10/minute"
    #: ``REALTIME_TEST_WEBSOCKET_URL``, honoured only with ``APP_ENV=testing``: the orb talks to this
    #: scripted Realtime server over WebSocket instead of OpenAI over WebRTC.
    realtime_test_websocket_url: str | None = None
    #: The token claim holding the user's roles (``JWT_ROLE_CLAIM``).
    jwt_role_claim: str = "roles"
    #: Roles that may change any appointment of their organization (``APPOINTMENT_WRITE_ROLES``).
    appointment_write_roles: frozenset[str] = frozenset({"admin"})
    #: The largest request body accepted, in bytes (``MAX_CONTENT_LENGTH``).
    max_content_length: int = 1024 * 1024
    environ: dict = field(repr=False, default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def provider(self, prefix: str, name: str, default: str | None = None) -> str | None:
        """Read ``<PREFIX>_<NAME>`` (e.g. ``<PREFIX>_CLIENT_ID``), or ``default`` when unset."""
        value = self.environ.get(f"{prefix}_{name}", "").strip()
        return value or default


def _url(environ, name, default):
    value = environ.get(name, "").strip() or default
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def positive_int(environ, name: str, default: int) -> int:
    """``name`` from ``environ`` as a positive whole number, else ``default``; a malformed value
    raises :class:`ConfigError` naming the variable."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _names(environ, name, default) -> frozenset[str]:
    """A comma-separated list of names (``admin,organizer``); empty means none."""
    raw = environ.get(name)
    return frozenset(part.strip() for part in (default if raw is None else raw).split(",") if part.strip())


def _secret_ttl(environ) -> int:
    """``OPENAI_REALTIME_SECRET_TTL``: seconds a client secret lives, 10 to 7200 (default 600)."""
    ttl = positive_int(environ, "OPENAI_REALTIME_SECRET_TTL", 600)
    if not 10 <= ttl <= 7200:
        raise ConfigError(f"OPENAI_REALTIME_SECRET_TTL must be between 10 and 7200 seconds, got {ttl}")
    return ttl


def _rate_limit(environ) -> str:
    """``REALTIME_RATE_LIMIT``: a rate such as ``10/minute`` (the default), ``limits`` syntax."""
    from limits import parse_many

    value = environ.get("REALTIME_RATE_LIMIT", "").strip() or "10/minute"
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"REALTIME_RATE_LIMIT must be a rate such as '10/minute', got {value!r}") from None
    return value


def _instance_secret(instance_path: Path, filename: str, make, what: str) -> str:
    """Read a development secret from the instance folder, creating it (mode 0600) once."""
    path = instance_path / filename
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        log.warning("Generated a development %s in %s; set it explicitly in production.", what, path)
    return path.read_text().strip()


def load_config(environ: dict | None = None, instance_path: str | Path | None = None) -> Config:
    """Build the configuration from ``environ`` (default: ``os.environ``).

    In production a missing secret stops start-up with a :class:`ConfigError` naming the
    variable; in development missing secrets are generated once into the instance folder.
    """
    from core.crypto import generate_key, parse_keys

    environ = dict(os.environ if environ is None else environ)
    app_env = environ.get("APP_ENV", "development").strip() or "development"
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    production = app_env == "production"
    instance = Path(instance_path or environ.get("CONNECTORS_INSTANCE_PATH") or Path.cwd() / "instance")

    database_url = environ.get("DATABASE_URL", "").strip() or f"sqlite:///{instance / 'connectors.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    raw_keys = environ.get("CONNECTORS_ENCRYPTION_KEYS", "").strip()
    if not raw_keys:
        if production:
            raise ConfigError("CONNECTORS_ENCRYPTION_KEYS is required in production "
                              "(run `connectors keys generate` to make one)")
        raw_keys = _instance_secret(instance, "encryption.key", generate_key, "encryption key")
    try:
        keys = tuple(parse_keys(raw_keys))
    except ValueError as exc:
        raise ConfigError(f"CONNECTORS_ENCRYPTION_KEYS: {exc}") from None

    jwt_secret = environ.get("JWT_SECRET", "").strip() or None
    jwt_public_key = environ.get("JWT_PUBLIC_KEY", "").strip() or None
    jwt_jwks_url = environ.get("JWT_JWKS_URL", "").strip() or None
    if not (jwt_secret or jwt_public_key or jwt_jwks_url):
        if production:
            raise ConfigError("Set JWT_SECRET (HS256) or JWT_PUBLIC_KEY / JWT_JWKS_URL (RS/ES) in production")
        jwt_secret = _instance_secret(instance, "jwt.secret", lambda: secrets.token_urlsafe(48), "JWT secret")
    if jwt_secret and (jwt_public_key or jwt_jwks_url):
        raise ConfigError("Set either JWT_SECRET or JWT_PUBLIC_KEY/JWT_JWKS_URL, not both")
    if jwt_secret and len(jwt_secret) < 32 and production:
        raise ConfigError("JWT_SECRET must be at least 32 characters in production")

    base = _url(environ, "APP_BASE_URL", "http://127.0.0.1:5000")
    return Config(
        app_env=app_env,
        instance_path=instance,
        database_url=database_url,
        redis_url=environ.get("REDIS_URL", "").strip() or None,
        encryption_keys=keys,
        app_base_url=base,
        backend_url=_url(environ, "BACKEND_URL", base),
        frontend_url=_url(environ, "FRONTEND_URL", base),
        jwt_secret=jwt_secret,
        jwt_public_key=jwt_public_key,
        jwt_jwks_url=jwt_jwks_url,
        jwt_issuer=environ.get("JWT_ISSUER", "").strip() or None,
        jwt_audience=environ.get("JWT_AUDIENCE", "").strip() or None,
        jwt_org_claim=environ.get("JWT_ORG_CLAIM", "").strip() or "org_id",
        openai_api_key=environ.get("OPENAI_API_KEY", "").strip() or None,
        openai_base_url=environ.get("OPENAI_BASE_URL", "").strip() or None,
        openai_realtime_model=environ.get("OPENAI_REALTIME_MODEL", "").strip() or "gpt-realtime",
        openai_realtime_secret_ttl=_secret_ttl(environ),
        realtime_rate_limit=_rate_limit(environ),
        realtime_test_websocket_url=(environ.get("REALTIME_TEST_WEBSOCKET_URL", "").strip() or None
                                     if app_env == "testing" else None),
        jwt_role_claim=environ.get("JWT_ROLE_CLAIM", "").strip() or "roles",
        appointment_write_roles=_names(environ, "APPOINTMENT_WRITE_ROLES", "admin"),
        max_content_length=positive_int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024),
        environ=environ,
    )
