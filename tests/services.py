"""Real backing services for the test suite: Redis, PostgreSQL and SMTP.

In the spirit of pytest-redis / pytest-postgresql, the fixtures below start
(or find) genuine servers instead of faking them, and fail loudly when that is
impossible: tests never get skipped because a service is missing.  Run
``bash .ci/run`` to install everything on a fresh Debian machine.

Load this module as a pytest plugin (``pytest_plugins = ["tests.services"]``)
or star-import it from ``tests/conftest.py``.

Every fixture is safe under pytest-xdist: each worker gets its own Redis
process, SMTP servers and uniquely named PostgreSQL databases, all on free
loopback ports.

Environment variables:

``TEST_POSTGRES_URL``
    Use this PostgreSQL server (its user must be allowed to create databases)
    instead of looking for one.
``TEST_POSTGRES_FORCE_TEMP``
    When set to a non-empty value other than ``0``, ignore any existing server
    and always start a temporary cluster with ``initdb``/``pg_ctl``.
"""

from __future__ import annotations

import contextlib
import datetime
import email
import email.policy
import getpass
import ipaddress
import os
import pwd
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = [
    "PostgresServer",
    "ReceivedMessage",
    "RedisServer",
    "SMTPServer",
    "TLSCertificate",
    "TemporaryCluster",
    "find_or_start_postgres",
    "free_port",
    "generate_tls_certificate",
    "postgres_database_url",
    "postgres_server",
    "private_postgres",
    "redis_server",
    "redis_url",
    "smtp_server",
    "smtps_server",
    "tls_certificate",
]

LOOPBACK = "127.0.0.1"
INSTALL_HINT = "run `bash .ci/run` (or `apt-get install {package}`)"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``ready`` until it returns true, raising ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.02)


def _tail(path: Path, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a log file, or a note if it is absent."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


# --------------------------------------------------------------------- Redis


class RedisServer:
    """A private ``redis-server`` process on a free loopback port, without persistence.

    ``stop()`` and ``start()`` may be called at will (the port is kept), so tests
    can take Redis away to check how the code copes.
    """

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def client(self) -> redis.Redis:
        """Return a new client for database 0 of this server."""
        return redis.Redis.from_url(self.url)

    def start(self) -> None:
        """Start the server (no-op if running) and wait until it answers PING."""
        if self.running:
            return
        log_file = self.directory / "redis.log"
        command = [
            self.executable,
            "--bind", LOOPBACK,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--daemonize", "no",
        ]
        with log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            _wait_until(self._answers_ping, timeout=10, what=f"redis-server on port {self.port}")
        except (TimeoutError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}; log {log_file}:\n{_tail(log_file)}") from None

    def stop(self) -> None:
        """Terminate the server process (no-op if it is not running)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _answers_ping(self) -> bool:
        """Return whether the server responds, raising if its process died."""
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {self._process.returncode}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Session-wide private Redis server: ``.url``, ``.port``, ``.start()``, ``.stop()``."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail(
            "redis-server is not installed: " + INSTALL_HINT.format(package="redis-server"),
            pytrace=False,
        )
    server = RedisServer(executable, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the session Redis, (re)started if a previous test stopped it, and emptied."""
    redis_server.start()
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


# ---------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server whose ``admin_url`` (libpq URI) may create databases."""

    admin_url: str
    origin: str

    def connect(self) -> psycopg.Connection:
        """Open an autocommit admin connection."""
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL (``postgresql+psycopg://``) of database ``name`` on this server."""
        url = make_url(self.admin_url).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def create_database(self) -> str:
        """Create an empty, uniquely named UTF-8 database (C collation); return its name."""
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"test_{worker}_{uuid.uuid4().hex[:12]}"
        with self.connect() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'"
                    " LC_COLLATE 'C' LC_CTYPE 'C'"
                ).format(sql.Identifier(name))
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting whoever still uses it."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextlib.contextmanager
    def temporary_database(self) -> Iterator[str]:
        """Create a fresh database, yield its SQLAlchemy URL and drop it afterwards."""
        name = self.create_database()
        try:
            yield self.database_url(name)
        finally:
            self.drop_database(name)


@dataclass(frozen=True)
class TemporaryCluster(PostgresServer):
    """A throw-away cluster of this test run's own, which a test may restart."""

    restart_command: tuple[str, ...] = ()
    user: str | None = None
    workdir: Path | None = None

    def restart(self) -> None:
        """Stop the server at once (``-m immediate``: like a crash) and start it again on the same port."""
        _run_as(list(self.restart_command), self.user, self.workdir)


def _libpq_url(url: str) -> str:
    """Turn a SQLAlchemy or libpq PostgreSQL URL into a libpq URI."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _probe(url: str) -> str | None:
    """Return ``None`` if ``url`` reaches a server where we may create databases, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None if row and row[0] else "user may not create databases"


def _postgres_bindir() -> Path | None:
    """Find a directory holding ``initdb`` and ``pg_ctl`` (PATH first, newest Debian next)."""
    candidates = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _run_as(argv: list[str], user: str | None, cwd: Path) -> None:
    """Run ``argv`` (as ``user`` if given) and raise ``RuntimeError`` with its output on failure."""
    if user is None:
        command = argv
    elif shutil.which("runuser"):
        command = ["runuser", "-u", user, "--", *argv]
    else:
        command = ["su", user, "-s", "/bin/sh", "-c", shlex.join(argv)]
    result = subprocess.run(
        command, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(
            f"`{shlex.join(command)}` failed with status {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


@contextlib.contextmanager
def _temporary_cluster(durable: bool = False) -> Iterator[PostgresServer]:
    """Create a throw-away cluster with ``initdb``, serve it on a free port, then delete it.

    ``initdb`` refuses to run as root, so as root the cluster belongs to the
    ``postgres`` system user and lives under ``/tmp`` where that user can reach it.
    A ``durable`` cluster keeps ``synchronous_commit`` on, so that what it acknowledged
    survives a crash of the server (``restart()``); without it, recent commits may be lost.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        raise LookupError("initdb/pg_ctl not found in PATH nor in /usr/lib/postgresql/*/bin")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise LookupError("running as root but there is no `postgres` system user") from None
    workdir = Path(tempfile.mkdtemp(prefix="pytest-pg-", dir="/tmp" if user else None))
    data, log_file, port = workdir / "data", workdir / "postgres.log", free_port()
    pg_ctl = str(bindir / "pg_ctl")
    server_options = (
        f"-F -p {port} -k {shlex.quote(str(workdir))} -c listen_addresses={LOOPBACK}"
        f" -c synchronous_commit={'on' if durable else 'off'} -c full_page_writes=off"
    )
    try:
        if user:
            os.chown(workdir, account.pw_uid, account.pw_gid)
        _run_as(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-locale", "--no-sync"],
            user, workdir,
        )
        try:
            _run_as(
                [pg_ctl, "-D", str(data), "-l", str(log_file), "-o", server_options,
                 "-w", "-t", "60", "start"],
                user, workdir,
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nserver log:\n{_tail(log_file)}") from None
        try:
            yield TemporaryCluster(
                f"postgresql://postgres@{LOOPBACK}:{port}/postgres",
                origin=f"temporary cluster in {workdir}",
                restart_command=(pg_ctl, "-D", str(data), "-l", str(log_file), "-o", server_options,
                                 "-m", "immediate", "-w", "-t", "60", "restart"),
                user=user, workdir=workdir,
            )
        finally:
            _run_as([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], user, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def find_or_start_postgres() -> Iterator[PostgresServer]:
    """Yield a usable PostgreSQL server, in order of preference.

    1. ``TEST_POSTGRES_URL`` if set (an error if it does not work);
    2. a local server on 127.0.0.1:5432 trusting user ``postgres``, ``root`` or
       the current user;
    3. a temporary cluster started with ``initdb``/``pg_ctl``.

    ``TEST_POSTGRES_FORCE_TEMP=1`` skips straight to 3.  Raises ``LookupError``
    when nothing works.
    """
    force_temp = os.environ.get("TEST_POSTGRES_FORCE_TEMP", "") not in ("", "0")
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured and not force_temp:
        url = _libpq_url(configured)
        problem = _probe(url)
        if problem:
            raise LookupError(f"TEST_POSTGRES_URL is not usable: {problem}")
        yield PostgresServer(url, origin="TEST_POSTGRES_URL")
        return
    problems = []
    if not force_temp:
        for user in dict.fromkeys(("postgres", "root", getpass.getuser())):
            url = f"postgresql://{user}@{LOOPBACK}:5432/postgres"
            problem = _probe(url)
            if problem is None:
                yield PostgresServer(url, origin="local server on port 5432")
                return
            problems.append(f"{url}: {problem}")
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(_temporary_cluster())
        except (LookupError, RuntimeError) as exc:
            raise LookupError("\n".join([*problems, f"temporary cluster: {exc}"])) from None
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Session-wide PostgreSQL server (see ``find_or_start_postgres``): ``.admin_url``."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(find_or_start_postgres())
        except LookupError as exc:
            problem = str(exc)
        else:
            yield server
            return
    pytest.fail(
        f"No PostgreSQL server available:\n{problem}\n"
        "Set TEST_POSTGRES_URL to a server where the user may create databases, or "
        + INSTALL_HINT.format(package="postgresql"),
        pytrace=False,
    )


@pytest.fixture
def private_postgres() -> Iterator[TemporaryCluster]:
    """A PostgreSQL cluster of this test's own (``initdb``), which the test may ``restart()``
    (a crash: what it acknowledged survives, as on a production server)."""
    with _temporary_cluster(durable=True) as cluster:
        yield cluster


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database dropped after the test."""
    with postgres_server.temporary_database() as url:
        yield url


# ---------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TLSCertificate:
    """A throw-away CA (``ca_file``) and a server certificate it signed for localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """Server-side TLS context presenting the localhost certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Client-side TLS context that trusts only the throw-away CA."""
        return ssl.create_default_context(cafile=self.ca_file)


def generate_tls_certificate(directory: Path) -> TLSCertificate:
    """Write a new CA and a server certificate for localhost/127.0.0.1/::1 into ``directory``."""
    now = datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connector-platform test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    certificate = TLSCertificate(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    certificate.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certificate.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificate.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> TLSCertificate:
    """Session-wide throw-away CA and localhost server certificate."""
    return generate_tls_certificate(tmp_path_factory.mktemp("tls"))


# --------------------------------------------------------------------- SMTP


class ReceivedMessage(EmailMessage):
    """A message delivered to an ``SMTPServer``, with its SMTP envelope and session facts."""

    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()
    username: str | None = None
    """The AUTH login the client used."""
    tls: bool = False
    """Whether the message travelled encrypted (STARTTLS or implicit TLS)."""


class SMTPServer:
    """Threaded aiosmtpd server on a free loopback port that requires AUTH LOGIN/PLAIN.

    Credentials are checked against the ``username``/``password`` attributes at
    login time, so tests may change them.  Without ``implicit_tls`` the server
    offers STARTTLS; AUTH and mail are accepted over plaintext too unless
    ``require_tls`` is set (read when a client connects).  Clients trust the
    certificate through ``ca_file`` (e.g. via ``SSL_CERT_FILE``).  Delivered
    mail is appended to ``messages``.
    """

    host = LOOPBACK

    def __init__(self, certificate: TLSCertificate, *, implicit_tls: bool = False) -> None:
        self.port = free_port()
        self.username = "mailer"
        self.password = "s3cret"
        self.require_tls = False
        self.implicit_tls = implicit_tls
        self.ca_file = certificate.ca_file
        self.messages: list[ReceivedMessage] = []
        self.tls_context = certificate.server_context()
        self._controller = _SMTPController(self)

    def start(self) -> None:
        """Start listening."""
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def make_session(self) -> SMTP:
        """Build the aiosmtpd protocol object for one client connection."""
        return SMTP(
            self,
            hostname="localhost",
            tls_context=None if self.implicit_tls else self.tls_context,
            require_starttls=self.require_tls and not self.implicit_tls,
            # aiosmtpd only recognises STARTTLS as encryption, not implicit TLS.
            auth_require_tls=self.require_tls and not self.implicit_tls,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        """aiosmtpd authenticator: accept exactly ``username``/``password``."""
        valid = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=valid, handled=False, auth_data=auth_data if valid else None)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """aiosmtpd hook: refuse senders until the client has authenticated.

        (aiosmtpd's own ``auth_required`` warns whenever AUTH is allowed over plaintext.)
        """
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd hook: record the delivered message."""
        message = email.message_from_bytes(
            envelope.original_content, _class=ReceivedMessage, policy=email.policy.default
        )
        message.envelope_from = envelope.mail_from
        message.envelope_to = tuple(envelope.rcpt_tos)
        message.username = session.login_data.decode() if session.login_data else None
        message.tls = self.implicit_tls or session.ssl is not None
        self.messages.append(message)
        return "250 Message accepted for delivery"


class _SMTPController(Controller):
    """aiosmtpd controller that lets its ``SMTPServer`` configure each connection."""

    def __init__(self, server: SMTPServer) -> None:
        super().__init__(
            server,
            hostname=server.host,
            port=server.port,
            ssl_context=server.tls_context if server.implicit_tls else None,
        )
        self._server = server

    def factory(self) -> SMTP:
        """Return the protocol object for a new connection."""
        return self._server.make_session()


@contextlib.contextmanager
def _running(server: SMTPServer) -> Iterator[SMTPServer]:
    """Start ``server``, yield it and stop it afterwards."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server(tls_certificate: TLSCertificate) -> Iterator[SMTPServer]:
    """SMTP server requiring AUTH, offering STARTTLS: ``.host``, ``.port``,
    ``.username``, ``.password``, ``.require_tls``, ``.ca_file``, ``.messages``."""
    with _running(SMTPServer(tls_certificate)) as server:
        yield server


@pytest.fixture
def smtps_server(tls_certificate: TLSCertificate) -> Iterator[SMTPServer]:
    """Like ``smtp_server`` but speaking implicit TLS (SMTPS) from the first byte."""
    with _running(SMTPServer(tls_certificate, implicit_tls=True)) as server:
        yield server
