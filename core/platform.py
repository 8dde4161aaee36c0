"""The platform handle: the services a plugin may use, typed, one per app.

Hooks receive it as their ``platform`` argument, actions as ``ctx.platform``, and code
running inside a request or a job gets it from :func:`current_platform`. It replaces looking
services up by string in ``current_app.extensions``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from flask import current_app

from core.quota import Bucket, Quota
from core.spec import ConnectorSpec

EXTENSION = "connectors.platform"
T = TypeVar("T")


class Platform:
    """What a connector plugin may use of the running platform.

    * ``config`` — the typed :class:`core.config.Config` (``config.environ`` holds every variable);
    * ``db`` — the :class:`core.db.Database` (``db.session_scope()`` for jobs);
    * ``credentials`` — the :class:`core.credentials.CredentialStore` (tokens and config values);
    * ``redis`` — the Redis client, or None in the embedded mode;
    * ``registry`` — the installed connectors (prefer :meth:`connector` / :meth:`connectors`);
    * ``app`` — the Flask app (to push an app context in a thread of your own).

    A plugin keeps what must live as long as the app (a cache, a client) with :meth:`shared`.
    """

    def __init__(self, app, *, config, db, credentials, registry, redis=None):
        self.app = app
        self.config = config
        self.db = db
        self.credentials = credentials
        self.registry = registry
        self.redis = redis
        self._quota: Quota | None = None
        self._shared: dict[str, object] = {}
        self._shared_lock = threading.Lock()

    def shared(self, name: str, factory: Callable[[], T]) -> T:
        """The app-wide object ``name``, made by ``factory()`` on first use and the same for every
        request, job and thread of this app afterwards (a plugin's cache or client). Prefix ``name``
        with the connector's key."""
        found = self._shared.get(name)
        if found is None:
            with self._shared_lock:
                found = self._shared.get(name)
                if found is None:
                    found = self._shared[name] = factory()
        return found

    # -- connectors ---------------------------------------------------------------------
    def connector(self, key: str) -> ConnectorSpec | None:
        """The declaration of connector ``key``, or None when no healthy plugin declares it."""
        return self.registry.connector(key)

    def connectors(self) -> list[ConnectorSpec]:
        """Every installed connector's declaration."""
        return list(self.registry.connectors.values())

    def api_root(self, key: str) -> str | None:
        """The provider API root of oauth2 connector ``key`` after ``<PREFIX>_API_ROOT``."""
        from core.oauth.provider import resolve

        spec = self.registry.connector(key)
        return resolve(spec, self.config).api_root if spec is not None and spec.oauth else None

    def missing_variables(self, key: str) -> list[str]:
        """The variables an operator must still set before connector ``key`` can connect
        (an oauth2 connector's ``<PREFIX>_CLIENT_ID`` / ``_CLIENT_SECRET``)."""
        from core.connections import missing_variables

        spec = self.registry.connector(key)
        return missing_variables(spec, self.config) if spec is not None else []

    def env(self, name: str, default: str | None = None) -> str | None:
        """The operator's variable ``name`` (stripped), or ``default`` when unset or empty."""
        value = str(self.config.environ.get(name, "")).strip()
        return value or default

    # -- a user's connection ------------------------------------------------------------
    def connection(self, session, user_id: int, key: str):
        """The user's ``user_connectors`` row for ``key`` (status, settings, account), or None."""
        from core.connections import get_link

        return get_link(session, user_id, key)

    def require_usable(self, session, user_id: int, key: str):
        """The user's connection of ``key`` when it may call its provider now (``active`` or ``error``);
        raises :class:`core.NeedsReauth` when it awaits a new consent, :class:`core.NotConnected` otherwise."""
        from core.connections import require_usable

        spec = self.registry.connector(key)
        return require_usable(session, user_id, key, spec.name if spec is not None else None)

    def settings(self, session, user_id: int, key: str) -> dict:
        """The user's settings of connector ``key`` over its declared defaults."""
        from core.connections import settings_of

        return settings_of(self.connection(session, user_id, key), self.registry.connector(key))

    def access_token(self, user_id: int, key: str, *, rejected: str | None = None) -> str:
        """A valid access token of ``user_id`` for ``key``, refreshed once for all workers when
        it expires within 5 minutes or was just ``rejected``; raises :class:`core.NeedsReauth`."""
        return self.credentials.access_token(user_id, key, rejected=rejected)

    def record_provider_call(self, key: str, error: str | None = None, count: int = 1) -> None:
        """Count ``count`` calls to connector ``key``'s provider for ``GET /metrics``; ``error`` is the
        failure's reason (a stable code, an HTTP status, the provider's reason), None for a success."""
        from core import metrics

        metrics.provider_call(key, error, count)

    def mark_needs_reauth(self, user_id: int, key: str, message: str) -> None:
        """Flag the user's connection of ``key`` as needing a new consent, with ``message``."""
        self.credentials.mark_needs_reauth(user_id, key, message)

    # -- shared state across processes ---------------------------------------------------
    def lock(self, name: str, *, ttl: float = 30.0, wait: float = 30.0,
             in_database: bool = False) -> AbstractContextManager:
        """A lock named ``name`` held across every process for at most ``ttl`` seconds (in Redis
        when configured, else — or with ``in_database`` — a lease row in the database);
        raises :class:`core.LockTimeout` after waiting ``wait`` seconds."""
        from core.locks import distributed_lock

        return distributed_lock(self.db, None if in_database else self.redis, name, ttl=ttl, wait=wait)

    @property
    def quota(self) -> Quota:
        """The shared token buckets (Redis when configured, in-process otherwise)."""
        if self._quota is None:
            self._quota = Quota(self.redis)
        return self._quota

    def buckets(self, key: str, user_id: int | None = None) -> list[Bucket]:
        """The buckets of the quotas connector ``key`` declares, at the operator's rates:
        per-user ones for ``user_id`` first, then the platform-wide ones."""
        spec = self.registry.connector(key)
        quotas = sorted(spec.quotas if spec else (), key=lambda q: not q.per_user)
        return [Bucket(f"{key}:{q.name}:{user_id}" if q.per_user else f"{key}:{q.name}",
                       quota_rate(self.config.environ, q)) for q in quotas if user_id is not None or not q.per_user]


def quota_rate(environ, quota) -> int:
    """``quota.variable`` read from ``environ`` (its default when unset); raises
    :class:`core.ConfigError` naming the variable when it is not a positive whole number."""
    from core.config import positive_int

    return positive_int(environ, quota.variable, quota.per_minute)


def current_platform() -> Platform:
    """The :class:`Platform` of the running app (inside a request, a job or an app context)."""
    return current_app.extensions[EXTENSION]
