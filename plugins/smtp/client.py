"""The one place that talks SMTP: connect, secure, log in, send, and explain failures.

Both the connector's ``validate`` and its ``send_email`` action go through
:func:`smtp_session`, so the TLS handling and the mapping of ``smtplib``/``ssl``/socket
failures to messages a user can act on exist only once. No message ever contains the
password.
"""
from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from collections.abc import Iterator, Mapping

from core import ConnectorError, ConnectorValidationError, NeedsReauth, resolve_public
from core import gettext as _

#: Seconds allowed for connecting and for each exchange with the server.
TIMEOUT = 10.0
TLS_MODES = ("starttls", "tls", "none")
DEFAULT_PORT = 587
DEFAULT_TLS_MODE = "starttls"

# One bare address: a dot-atom local part, then a host name with at least one dot.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$"
)


def is_email_address(value: object) -> bool:
    """Return whether ``value`` is one plain email address such as ``bob@example.com``."""
    return isinstance(value, str) and len(value) <= 254 and bool(_EMAIL_RE.match(value))


class SmtpSettings:
    """The connection settings of one SMTP account, read from stored config values."""

    __slots__ = ("host", "port", "username", "password", "tls_mode")

    def __init__(self, values: Mapping[str, object]):
        """Read and check ``host``, ``port``, ``username``, ``password`` and ``tls_mode``.

        Raises :class:`ConnectorValidationError` naming the field that is missing or wrong.
        """
        self.host = str(values.get("host") or "").strip()
        if not self.host:
            raise ConnectorValidationError(_("Enter the SMTP server's host name."), field="host")
        port = values.get("port")
        try:
            self.port = DEFAULT_PORT if port in (None, "") else int(port)
        except (TypeError, ValueError):
            self.port = -1
        if not 0 < self.port < 65536 or isinstance(port, bool):
            raise ConnectorValidationError(
                _("The SMTP port must be a number between 1 and 65535 (usually 587 or 465)."),
                field="port",
            )
        self.tls_mode = str(values.get("tls_mode") or DEFAULT_TLS_MODE)
        if self.tls_mode not in TLS_MODES:
            raise ConnectorValidationError(
                _("Unknown TLS mode '%(mode)s'; choose one of %(modes)s.", mode=self.tls_mode,
                  modes=", ".join(TLS_MODES)),
                field="tls_mode",
            )
        self.username = str(values.get("username") or "")
        self.password = str(values.get("password") or "")
        if not self.username:
            raise ConnectorValidationError(_("Enter the SMTP username."), field="username")
        if not self.password:
            raise ConnectorValidationError(_("Enter the SMTP password."), field="password")

    @property
    def address(self) -> str:
        """``host:port`` as shown in messages."""
        return f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """The account label shown to the user: ``username (host)`` — a username is often an address itself."""
        return f"{self.username} ({self.host})"

    def __repr__(self) -> str:
        """Describe the settings without the password."""
        return f"SmtpSettings({self.username!r} at {self.address}, tls_mode={self.tls_mode!r})"


def _fail(message: str, settings: SmtpSettings, *, reason: str, field: str) -> ConnectorValidationError:
    """Build the error for a failed attempt, making sure the password is not in it."""
    if settings.password:
        message = message.replace(settings.password, "***")
    return ConnectorValidationError(message, field=field, reason=reason)


def _server_text(exc: smtplib.SMTPResponseException) -> str:
    """The server's reply of an SMTP error as ``code text``."""
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}".strip()


def _tls_hint(settings: SmtpSettings) -> str:
    """A hint on choosing the TLS mode that fits the port."""
    return _("Check the TLS mode (now '%(mode)s'): servers on port 465 usually use "
             "'tls' (implicit TLS), servers on port 587 'starttls'.", mode=settings.tls_mode)


def _explain(exc: BaseException, settings: SmtpSettings) -> ConnectorValidationError:
    """Turn a failure of connecting, securing or logging in into a message a user can act on."""
    where = settings.address
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or _("verification failed")
        return _fail(
            _("The TLS certificate of %(host)s could not be verified (%(detail)s). "
              "Use the server's correct host name, or ask its administrator for a certificate "
              "signed by a trusted authority.", host=settings.host, detail=detail),
            settings, reason="tls", field="host",
        )
    if isinstance(exc, ssl.SSLError):
        detail = exc.reason or exc.__class__.__name__
        return _fail(
            _("The TLS handshake with %(where)s failed (%(detail)s). %(hint)s", where=where, detail=detail,
              hint=_tls_hint(settings)),
            settings, reason="tls", field="tls_mode",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _fail(
            _("The SMTP server refused the username or password."),
            settings, reason="auth", field="password",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc).upper():
            return _fail(
                _("The SMTP server at %(where)s does not offer STARTTLS. "
                  "Choose TLS mode 'tls' if it uses implicit TLS (usually port 465), "
                  "or 'none' only if you trust the network.", where=where),
                settings, reason="tls", field="tls_mode",
            )
        hint = (
            " " + _("It may only offer login over an encrypted connection: try TLS mode 'starttls' or 'tls'.")
            if settings.tls_mode == "none" else ""
        )
        return _fail(
            _("The SMTP server at %(where)s does not offer authentication (AUTH), "
              "so the username and password cannot be used.", where=where) + hint,
            settings, reason="no_auth", field="tls_mode" if hint else "host",
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return _fail(
            _("Could not reach %(where)s: the server refused the session (%(detail)s).", where=where,
              detail=_server_text(exc)),
            settings, reason="unreachable", field="host",
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _fail(
            _("Could not reach %(where)s: the server closed the connection unexpectedly. %(hint)s", where=where,
              hint=_tls_hint(settings)),
            settings, reason="unreachable", field="tls_mode",
        )
    if isinstance(exc, smtplib.SMTPException):
        if isinstance(exc, smtplib.SMTPResponseException):
            detail = _server_text(exc)
        else:
            detail = str(exc) or exc.__class__.__name__
        return _fail(
            _("The SMTP server at %(where)s refused the login: %(detail)s", where=where, detail=detail),
            settings, reason="protocol", field="username",
        )
    if isinstance(exc, UnicodeError):
        return _fail(
            _("The username or password contains characters the SMTP login cannot send; "
              "use only ASCII characters."),
            settings, reason="auth", field="password",
        )
    if isinstance(exc, ConnectionRefusedError):
        return _fail(
            _("Could not reach %(where)s: the connection was refused. Check the host and port.", where=where),
            settings, reason="unreachable", field="port",
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return _fail(
            _("Could not reach %(where)s: no answer within %(seconds)s seconds. "
              "Check the host, the port and any firewall. %(hint)s", where=where, seconds=format(TIMEOUT, "g"),
              hint=_tls_hint(settings)),
            settings, reason="unreachable", field="host",
        )
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc) or exc.__class__.__name__
        return _fail(
            _("Could not reach %(where)s: %(detail)s. Check the host and port.", where=where, detail=detail),
            settings, reason="unreachable", field="host",
        )
    return _fail(
        _("Talking to the SMTP server at %(where)s failed unexpectedly (%(error)s).", where=where,
          error=exc.__class__.__name__),
        settings, reason="protocol", field="host",
    )


class _PinnedSMTP(smtplib.SMTP):
    """An SMTP client that opens its TCP connection to an address checked by the SSRF guard.

    ``smtplib`` keeps the host name for TLS (``server_hostname``), so STARTTLS and implicit
    TLS still verify the certificate against the name the user typed.
    """

    def __init__(self, host: str, port: int, address: str, **kwargs):
        """Connect to ``address`` on behalf of ``host``."""
        self._address = address
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host, port, timeout):
        """Connect to the pinned address instead of resolving ``host`` again."""
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    """Implicit TLS over a pinned connection: ``SMTP_SSL`` wraps :class:`_PinnedSMTP`'s socket."""

    def __init__(self, host: str, port: int, address: str, **kwargs):
        """Connect to ``address`` on behalf of ``host`` and start TLS for ``host``."""
        self._address = address
        smtplib.SMTP_SSL.__init__(self, host, port, **kwargs)


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """Open a connection secured as ``tls_mode`` says, say EHLO, and return it (not logged in).

    The host goes through the SSRF guard first (:func:`core.netguard.resolve_public`).
    """
    address = resolve_public(settings.host, settings.port)
    if settings.tls_mode == "tls":
        conn: smtplib.SMTP = _PinnedSMTPSSL(
            settings.host, settings.port, address, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        conn = _PinnedSMTP(settings.host, settings.port, address, timeout=TIMEOUT)
    try:
        conn.ehlo()
        if settings.tls_mode == "starttls":
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def smtp_session(values: Mapping[str, object]) -> Iterator[smtplib.SMTP]:
    """Yield a connection logged in with the stored config ``values``; quit afterwards.

    Failures to connect, secure the connection or log in raise
    :class:`ConnectorValidationError` with a user-actionable message, a ``field`` hint and a
    ``reason`` (``unreachable``, ``tls``, ``auth``, ``no_auth`` or ``protocol``). Errors raised
    inside the ``with`` block pass through unchanged.
    """
    settings = SmtpSettings(values)
    try:
        conn = _connect(settings)
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:
        raise _explain(exc, settings) from None
    try:
        try:
            conn.login(settings.username, settings.password)
        except (OSError, smtplib.SMTPException, UnicodeError) as exc:
            raise _explain(exc, settings) from None
        yield conn
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.quit()
    finally:
        conn.close()


def check_login(values: Mapping[str, object]) -> str:
    """Log in to the SMTP server with ``values`` for real and return the account label.

    Raises :class:`ConnectorValidationError` when the server cannot be reached, TLS fails or
    the credentials are refused.
    """
    with smtp_session(values):
        pass
    return SmtpSettings(values).label


def build_message(from_address: str, to: str, subject: str, body: str) -> EmailMessage:
    """Build a plain-text message with a fresh ``Message-ID`` and ``Date``.

    Raises :class:`ConnectorError` with code ``invalid_input`` for a malformed recipient or a
    subject spanning several lines.
    """
    to = (to or "").strip()
    if not is_email_address(to):
        raise ConnectorError(
            _("“%(to)s” is not a valid email address; give one address like name@example.com.", to=to),
            code="invalid_input", field="to",
        )
    subject = subject or ""
    if "\r" in subject or "\n" in subject:
        raise ConnectorError(_("The subject must be a single line."), code="invalid_input", field="subject")
    if not is_email_address(from_address):
        raise ConnectorError(
            _("The connection's sender address (from_address) is not a valid email address; "
              "reconnect with a correct one."),
            code="invalid_input", field="from_address",
        )
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    msg.set_content(body or "")
    return msg


def send_message(values: Mapping[str, object], msg: EmailMessage) -> None:
    """Send ``msg`` through the account in ``values``.

    Refused credentials raise :class:`NeedsReauth` (the user must reconnect); an unreachable
    server or TLS problem raises :class:`ConnectorError` (``provider_error``); a refused
    recipient raises ``invalid_input`` and a refused sender or message ``provider_error``.
    """
    try:
        with smtp_session(values) as conn:
            try:
                conn.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                detail = "; ".join(
                    f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
                    for code, text in exc.recipients.values()
                )
                raise ConnectorError(
                    _("The SMTP server refused the recipient %(to)s: %(detail)s", to=msg["To"], detail=detail),
                    code="invalid_input", field="to",
                ) from None
            except smtplib.SMTPSenderRefused as exc:
                raise ConnectorError(
                    _("The SMTP server refused the sender address %(sender)s (%(detail)s). Check that this "
                      "account may send as that address.", sender=msg["From"], detail=_server_text(exc)),
                    field="from_address",
                ) from None
            except smtplib.SMTPResponseException as exc:
                raise ConnectorError(
                    _("The SMTP server refused the message: %(detail)s", detail=_server_text(exc))
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise ConnectorError(
                    _("Sending through the SMTP server failed: %(error)s. Try again.", error=exc.__class__.__name__)
                ) from None
    except ConnectorValidationError as exc:
        if exc.details.get("reason") in ("auth", "no_auth"):
            raise NeedsReauth(exc.message, field=exc.details.get("field")) from None
        raise ConnectorError(exc.message, field=exc.details.get("field")) from None
