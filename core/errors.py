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

    def __init_subclass__(cls, code: str | None = None, http_status: int | None = None, **kwargs):
        """``class NotFound(ConnectorError, code="not_found", http_status=404)``: a typed error's code
        and status (a subclass may also set ``code`` and ``http_status`` in its body)."""
        super().__init_subclass__(**kwargs)
        if code:
            cls.code = code
        if http_status:
            cls.http_status = http_status

    def __new__(cls, *args, code: str | None = None, **details):
        typed = TYPED.get(code) if cls is ConnectorError else None
        return super().__new__(typed or cls, *args)

    def __init__(self, message: str, *, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
            self.http_status = TYPED[code].http_status if code in TYPED else self.http_status
        self.details = details


class ConnectorValidationError(ConnectorError, code="invalid_credentials", http_status=422):
    """Config credentials were tried and refused; the message says what is wrong."""


class NeedsReauth(ConnectorError, code="needs_reauth", http_status=409):
    """The provider refused the stored grant; the user must connect again."""


class NotConnected(ConnectorError, code="not_connected", http_status=409):
    """The user has no active connection for this connector."""


class RateLimited(ConnectorError, code="rate_limited", http_status=429):
    """The provider asked us to slow down (``retry_after`` seconds in ``details`` when it said)."""


class NotFound(ConnectorError, code="not_found", http_status=404):
    """The provider has no such item (or no longer has it)."""


class InvalidInput(ConnectorError, code="invalid_input", http_status=422):
    """The arguments are wrong; ``field`` in ``details`` names the culprit."""


class ProviderError(ConnectorError, code="provider_error", http_status=502):
    """The provider failed or refused in a way the user cannot fix by changing the request."""


#: The typed error each stable code stands for (see :meth:`ConnectorError.__new__`); its ``http_status``
#: is also that of any error raised with its code (``ProviderError("…", code="not_found")`` is a 404).
TYPED = {cls.code: cls for cls in (NeedsReauth, NotConnected, RateLimited, NotFound, InvalidInput)}


class DatabaseNotMigrated(ConnectorError, code="database_not_migrated", http_status=503):
    """The database was never migrated; the message names the command that creates the schema."""

    def __init__(self):
        super().__init__(N_("The database has no tables yet: run `connectors db upgrade`."))
