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
        #: Plugins' Alembic revision directories, applied with core's by :meth:`upgrade`.
        self.plugin_migrations: list[Path] = []

    def rows(self, statement, params: dict | None = None) -> list:
        """Every row of the Core ``statement`` run with ``params`` on a pooled connection, no ORM
        session: for the few reads made on every request. SQLAlchemy compiles a statement once
        per engine and keeps it in the engine's compiled cache, so a module-level ``select()``
        with ``bindparam()``s costs its compilation only once."""
        with self.engine.connect() as connection:
            return connection.execute(statement, params or {}).all()

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
    """Whether ``error`` (SQLAlchemy's, or the driver's own) says a table does not exist: the
    database was never migrated (or not to the end), and ``connectors db upgrade`` is the answer.
    Decided from the error alone, without asking the database again (which may be the very thing
    that is away). The API and the CLI both ask here."""
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
