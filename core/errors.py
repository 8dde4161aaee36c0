"""Exceptions with a stable code that the API turns into its one JSON error shape."""
from core.i18n import N_


class ConnectorError(Exception):
    """A failure a user or agent can act on; ``code`` is stable and speakable.

    ``ConnectorError(message, code=...)`` with the code of a typed error below builds that typed
    error: ``ConnectorError("…", code="needs_reauth")`` *is* a :class:`NeedsReauth`, so it is
    handled exactly like one (the connection is marked for re-authorization).
    """

    code = "provider_error"
    http_status = 502
    STATUS_BY_CODE = {"invalid_input": 422, "not_found": 404, "needs_reauth": 409, "not_connected": 409,
                      "rate_limited": 429}

    def __new__(cls, *args, code: str | None = None, **details):
        typed = TYPED.get(code) if cls is ConnectorError else None
        return super().__new__(typed or cls, *args)

    def __init__(self, message: str, *, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
            self.http_status = self.STATUS_BY_CODE.get(code, self.http_status)
        self.details = details


class ConnectorValidationError(ConnectorError):
    """Config credentials were tried and refused; the message says what is wrong."""

    code = "invalid_credentials"
    http_status = 422


class NeedsReauth(ConnectorError):
    """The provider refused the stored grant; the user must connect again."""

    code = "needs_reauth"
    http_status = 409


class NotConnected(ConnectorError):
    """The user has no active connection for this connector."""

    code = "not_connected"
    http_status = 409


class RateLimited(ConnectorError):
    """The provider asked us to slow down (``retry_after`` seconds in ``details`` when it said)."""

    code = "rate_limited"
    http_status = 429


class NotFound(ConnectorError):
    """The provider has no such item (or no longer has it)."""

    code = "not_found"
    http_status = 404


class InvalidInput(ConnectorError):
    """The arguments are wrong; ``field`` in ``details`` names the culprit."""

    code = "invalid_input"
    http_status = 422


class ProviderError(ConnectorError):
    """The provider failed or refused in a way the user cannot fix by changing the request."""

    code = "provider_error"
    http_status = 502


#: The typed error each stable code stands for (see :meth:`ConnectorError.__new__`).
TYPED = {cls.code: cls for cls in (NeedsReauth, NotConnected, RateLimited, NotFound, InvalidInput)}


class DatabaseNotMigrated(ConnectorError):
    """The database was never migrated; the message names the command that creates the schema."""

    code = "database_not_migrated"
    http_status = 503

    def __init__(self):
        super().__init__(N_("The database has no tables yet: run `connectors db upgrade`."))
