"""The database: one engine per app, a session per request or job, Alembic migrations."""
from __future__ import annotations

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
            options.update(pool_size=10, max_overflow=20)
        self.engine = create_engine(url, **options)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

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

    def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to ``revision``."""
        from alembic import command

        command.upgrade(alembic_config(self.url), revision)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str):
    """An Alembic config pointing at this repository's migrations and ``url``."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


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
