"""The database: one engine per app, a session per request or job, Alembic migrations."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Database:
    """Owns the engine and the session factory of one app."""

    def __init__(self, url: str):
        self.url = url
        sqlite = url.startswith("sqlite")
        # A server connection can go stale (restart, idle timeout): test it before each use.
        # A SQLite file cannot, and the ping would cost a statement per transaction.
        options = {"future": True, "pool_pre_ping": not sqlite}
        if sqlite:
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True) if "///" in url else None
            options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            # A server that does not answer at all (a host failing over, packets dropped) must cost a
            # 503 within seconds, not a request hanging until gunicorn kills its worker (a reset
            # connection without an answer); a wait for a pooled connection likewise.
            options.update(pool_size=10, max_overflow=20, pool_timeout=10, connect_args={"connect_timeout": 5})
        self.engine = create_engine(url, **options)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._prepared: dict = {}
        #: Plugins' Alembic revision directories, applied with core's by :meth:`upgrade`.
        self.plugin_migrations: list[Path] = []

    def prepared(self, statement) -> PreparedQuery:
        """``statement`` compiled once for this engine (see :class:`PreparedQuery`)."""
        query = self._prepared.get(statement)
        if query is None:
            query = self._prepared[statement] = PreparedQuery(self.engine, statement)
        return query

    @contextmanager
    def session_scope(self):
        """A session committed on success and rolled back on error (for jobs and the CLI)."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def is_migrated(self) -> bool:
        """Whether ``connectors db upgrade`` has created the schema (the ``users`` table exists)."""
        from sqlalchemy import inspect

        return inspect(self.engine).has_table("users")

    def upgrade(self, revision: str = "heads") -> None:
        """Apply Alembic migrations, core's and every plugin's branch, up to ``revision``."""
        from alembic import command

        command.upgrade(alembic_config(self.url, self.plugin_migrations), revision)


class PreparedQuery:
    """A SELECT compiled once for one engine, run on a pooled DBAPI connection.

    For the few reads made on every request: SQLAlchemy's execution context and ``Result``
    cost three times the query itself on SQLite (docs/performance.md). The pool still
    checks the connection out (pinging it on PostgreSQL) and resets it on return. Rows are
    plain tuples without type processing, so select only columns whose database values are
    already the Python ones (integers, strings), with plain bound parameters.
    """

    def __init__(self, engine, statement):
        compiled = statement.compile(dialect=engine.dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("PreparedQuery takes plain bound parameters only")
        self.engine = engine
        self.sql = str(compiled)
        #: Parameter names in order for positional paramstyles (SQLite's ``?``), else None.
        self.positions = compiled.positiontup
        self.names = frozenset(compiled.params)

    def rows(self, **params) -> list[tuple]:
        """Run the query with ``params`` (every bound parameter, by name) and return every row."""
        if params.keys() != self.names:
            raise TypeError(f"PreparedQuery takes the parameters {sorted(self.names)}, not {sorted(params)}")
        args = [params[name] for name in self.positions] if self.positions is not None else params
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, args)
            return cursor.fetchall()
        finally:
            connection.close()


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str, plugin_migrations=()):
    """An Alembic config for ``url``: core's migrations and the plugins' revision directories."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(
        str(path) for path in (MIGRATIONS_DIR / "versions", *plugin_migrations)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


#: SQLSTATE ``undefined_table`` (PostgreSQL).
UNDEFINED_TABLE = "42P01"


def missing_schema(error: BaseException) -> bool:
    """Whether ``error`` (SQLAlchemy's, or the driver's own from a :class:`PreparedQuery`) says a
    table does not exist: the database was never migrated (or not to the end), and ``connectors
    db upgrade`` is the answer. Decided from the error alone, without asking the database again
    (which may be the very thing that is away). The API and the CLI both ask here."""
    cause = getattr(error, "orig", None) or error
    if UNDEFINED_TABLE in (getattr(cause, "sqlstate", None), getattr(cause, "pgcode", None)):
        return True
    return isinstance(cause, sqlite3.OperationalError) and str(cause).startswith("no such table")


def get_db() -> Database:
    """The current app's :class:`Database`."""
    return current_app.extensions["connectors.db"]


def get_session() -> Session:
    """The session of the current request, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


def close_session(_exc=None) -> None:
    """Teardown handler: roll back anything uncommitted and close the request's session."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
