"""The credentials service: encrypted storage of tokens and config, and single-flight token refresh."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, UTC

from authlib.integrations.base_client.errors import OAuthError
from sqlalchemy import and_, bindparam, select

from core import metrics
from core.connections import usable
from core.crypto import Cipher, associated_data
from core.errors import ConnectorError, NeedsReauth, NotConnected
from core.i18n import N_, _
from core.locks import distributed_lock
from core.models import UserConnector, UserConnectorCredential, utcnow
from core.oauth.provider import resolve

log = logging.getLogger(__name__)

TABLE = UserConnectorCredential.__tablename__
SECRET_COLUMNS = ("access_token", "refresh_token", "extra_json")
REFRESH_MARGIN = timedelta(minutes=5)

#: A connection's status and its stored token, in one statement: read before every provider call.
_TOKEN_READ = (
    select(UserConnector.status, UserConnector.last_error, UserConnectorCredential.user_id,
           UserConnectorCredential.connector_code, UserConnectorCredential.access_token,
           UserConnectorCredential.refresh_token, UserConnectorCredential.expires_at, UserConnectorCredential.scopes)
    .outerjoin(UserConnectorCredential, and_(UserConnectorCredential.user_id == UserConnector.user_id,
                                             UserConnectorCredential.connector_code == UserConnector.connector_code))
    .where(UserConnector.user_id == bindparam("user_id"), UserConnector.connector_code == bindparam("key")))


class CredentialStore:
    """Reads and writes one user's secrets for one connector; refreshes OAuth tokens once for all."""

    def __init__(self, db, cipher: Cipher, registry, config, redis_client=None):
        self.db = db
        self.cipher = cipher
        self.registry = registry
        self.config = config
        self.redis = redis_client

    # -- encryption -------------------------------------------------------------------
    def seal(self, row: UserConnectorCredential, column: str, value: str | None) -> None:
        """Encrypt ``value`` into ``row.<column>``, bound to the row's user and connector."""
        aad = associated_data(TABLE, column, row.user_id, row.connector_code)
        setattr(row, column, None if value is None else self.cipher.encrypt(value, aad))

    def open(self, row: UserConnectorCredential, column: str) -> str | None:
        """Decrypt ``row.<column>`` (raises :class:`core.crypto.DecryptionError` on mismatch)."""
        value = getattr(row, column)
        if value is None:
            return None
        return self.cipher.decrypt(value, associated_data(TABLE, column, row.user_id, row.connector_code))

    # -- rows -------------------------------------------------------------------------
    @staticmethod
    def row(session, user_id: int, key: str) -> UserConnectorCredential | None:
        """The credential row of ``user_id`` for connector ``key``."""
        return session.scalars(select(UserConnectorCredential).where(
            UserConnectorCredential.user_id == user_id, UserConnectorCredential.connector_code == key)).first()

    def _row_for_write(self, session, user_id, spec):
        row = self.row(session, user_id, spec.key)
        if row is None:
            row = UserConnectorCredential(user_id=user_id, connector_code=spec.key, provider=spec.provider)
            session.add(row)
        return row

    def save_tokens(self, session, user_id: int, spec, token: dict) -> UserConnectorCredential:
        """Store an OAuth token response; a response without a refresh token keeps the old one."""
        row = self._row_for_write(session, user_id, spec)
        self.seal(row, "access_token", token["access_token"])
        if token.get("refresh_token"):
            self.seal(row, "refresh_token", token["refresh_token"])
        expires_at = token.get("expires_at")
        if expires_at is None and token.get("expires_in") is not None:
            expires_at = utcnow().timestamp() + int(token["expires_in"])
        row.expires_at = datetime.fromtimestamp(int(expires_at), UTC) if expires_at else None
        if token.get("scope") is not None:
            row.scopes = token["scope"] if isinstance(token["scope"], str) else " ".join(token["scope"])
        return row

    def save_config(self, session, user_id: int, spec, values: dict) -> UserConnectorCredential:
        """Store a config connector's values, encrypted as one JSON document in ``extra_json``."""
        row = self._row_for_write(session, user_id, spec)
        self.seal(row, "extra_json", json.dumps(values, sort_keys=True))
        return row

    def load_config(self, session, user_id: int, key: str) -> dict:
        """The decrypted config values of ``key`` for ``user_id`` (empty when none)."""
        return self.config_of(self.row(session, user_id, key))

    def config_of(self, row: UserConnectorCredential | None) -> dict:
        """The decrypted config values held by ``row`` (empty when none)."""
        raw = self.open(row, "extra_json") if row else None
        return json.loads(raw) if raw else {}

    def load_token(self, session, user_id: int, key: str) -> dict | None:
        """The decrypted OAuth token of ``key`` for ``user_id``, or None."""
        row = self.row(session, user_id, key)
        return None if row is None or row.access_token is None else self._token(row)

    def _token(self, row) -> dict:
        """The decrypted token held by ``row`` (a credential row, or a row with its columns)."""
        return {
            "access_token": self.open(row, "access_token"),
            "refresh_token": self.open(row, "refresh_token"),
            "expires_at": int(row.expires_at.timestamp()) if row.expires_at else None,
            "scope": row.scopes,
            "token_type": "Bearer",
        }

    def delete(self, session, user_id: int, key: str) -> None:
        """Purge every stored secret of ``key`` for ``user_id``."""
        row = self.row(session, user_id, key)
        if row is not None:
            session.delete(row)

    # -- fresh access tokens ----------------------------------------------------------
    def access_token(self, user_id: int, key: str, *, rejected: str | None = None) -> str:
        """A valid access token for ``user_id``'s ``key`` connector.

        Refreshes 5 minutes before expiry, or when the provider ``rejected`` the current
        token with a 401. Refresh is single-flight across processes: under a lock per
        credential the token is read again, and if another worker already refreshed it,
        that token is used. Raises :class:`NotConnected` or :class:`NeedsReauth`.
        """
        token = self._current(user_id, key)
        if not self._stale(token, rejected):
            return token["access_token"]
        with distributed_lock(self.db, self.redis, f"refresh:{user_id}:{key}"):
            token = self._current(user_id, key)
            if not self._stale(token, rejected):
                return token["access_token"]
            return self._refresh(user_id, key, token)["access_token"]

    def _current(self, user_id, key):
        """The stored token of a usable connection: one Core statement, no ORM session (every sync
        round of every run reads it)."""
        spec = self.registry.connector(key)
        name = spec.name if spec is not None else key
        found = self.db.rows(_TOKEN_READ, {"user_id": user_id, "key": key})
        row = usable(found[0] if found else None, key, name)
        if row.access_token is None:
            raise NotConnected(_("%(name)s is not connected.", name=name), connector=key)
        return self._token(row)

    @staticmethod
    def _stale(token, rejected):
        if rejected is not None and token["access_token"] == rejected:
            return True
        expires_at = token["expires_at"]
        return expires_at is not None and expires_at - REFRESH_MARGIN.total_seconds() <= utcnow().timestamp()

    def _refresh(self, user_id, key, token):
        spec = self.registry.connector(key)
        if not token.get("refresh_token"):
            self.mark_needs_reauth(user_id, key, N_("The provider gave no refresh token; reconnect."))
            raise NeedsReauth(N_("Reconnect this connector: it has no refresh token."))
        provider = resolve(spec, self.config)
        client = provider.session()
        try:
            fresh = client.refresh_token(provider.token_url, refresh_token=token["refresh_token"], timeout=15)
        except OAuthError as exc:
            if exc.error in ("invalid_grant", "unauthorized_client", "invalid_client"):
                metrics.token_refresh(key, "needs_reauth")
                message = N_("Access was revoked or expired at the provider; reconnect to resume.")
                self.mark_needs_reauth(user_id, key, message)
                raise NeedsReauth(message) from None
            metrics.token_refresh(key, "failed")
            raise ConnectorError(_("Token refresh failed (%(error)s); try again.", error=exc.error)) from None
        except Exception as exc:
            metrics.token_refresh(key, "failed")
            raise ConnectorError(_("Token refresh failed (%(error)s); try again.", error=type(exc).__name__)) from None
        finally:
            client.close()
        fresh = dict(fresh)
        if not fresh.get("refresh_token"):
            fresh["refresh_token"] = token["refresh_token"]
        with self.db.session_scope() as session:
            self.save_tokens(session, user_id, spec, fresh)
        metrics.token_refresh(key, "ok")
        log.info("Refreshed the %s token of user %s", key, user_id)
        return fresh

    def mark_needs_reauth(self, user_id: int, key: str, message: str) -> None:
        """Flag the connection as needing a new consent, with a message the dashboard shows."""
        with self.db.session_scope() as session:
            link = session.scalars(select(UserConnector).where(
                UserConnector.user_id == user_id, UserConnector.connector_code == key)).first()
            if link is not None:
                if link.status != "needs_reauth":
                    metrics.needs_reauth(key)
                link.status, link.last_error = "needs_reauth", message

