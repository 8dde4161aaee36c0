"""The Alembic migrations (core's and the plugins' branches) and the models describe the same schema."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from core.app import create_app
from core import EventLink
from core.db import MIGRATIONS_DIR, alembic_config
from core.models import Base
from tests.conftest import platform_env
from tests.sample_plugins import mirror

CONTRACT = {
    "users": {"id", "org_id", "external_id", "created_at", "updated_at"},
    "user_connectors": {"id", "user_id", "connector_code", "status", "settings_json", "account_label",
                        "last_error", "created_at", "updated_at"},
    "user_connector_credentials": {"id", "user_id", "connector_code", "provider", "access_token",
                                   "refresh_token", "expires_at", "extra_json", "scopes", "created_at",
                                   "updated_at"},
    "appointments": {"id", "org_id", "owner_user_id", "title", "starts_at", "ends_at", "timezone", "location",
                     "notes", "status", "version", "created_at", "updated_at"},
    "calendar_event_links": {"appointment_id", "user_id", "calendar_id", "external_event_id", "sync_status",
                             "synced_version", "attempts", "last_error", "synced_at"},
}
#: The initial revision as released, when it still created calendar_event_links itself.
LEGACY = MIGRATIONS_DIR.parent / "tests" / "legacy_migrations"


def _app(database_url, tmp_path):
    return create_app(platform_env(database_url), plugins=[("mirror", mirror)], instance_path=str(tmp_path / "i"))


def test_migration_matches_models(database_url, tmp_path):
    db = _app(database_url, tmp_path).extensions["connectors.db"]
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        inspector = inspect(conn)
        for table, columns in CONTRACT.items():
            assert columns <= {c["name"] for c in inspector.get_columns(table)}, table
        assert "mirror_entries" in inspector.get_table_names()  # a plugin's own branch ran
        links = [mapper.local_table for mapper in Base.registry.mappers if issubclass(mapper.class_, EventLink)]
        assert {"calendar_event_links", "caldav_event_links"} <= {table.name for table in links}
        for table in links:  # core.EventLink's columns keep each table's own lengths (sync_status 32 or 16)
            made = {c["name"]: getattr(c["type"], "length", None) for c in inspector.get_columns(table.name)}
            assert made == {c.name: getattr(c.type, "length", None) for c in table.columns}, table.name
        heads = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    db.engine.dispose()
    assert diff == []
    assert {"google_calendar_0003", "mirror_0001"} <= heads  # every plugin branch is at its head


def test_a_populated_0001_database_upgrades_in_place(database_url, tmp_path):
    legacy = alembic_config(database_url)
    legacy.set_main_option("version_locations", str(LEGACY))
    command.upgrade(legacy, "0001")
    app = _app(database_url, tmp_path)
    db = app.extensions["connectors.db"]
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, org_id, external_id, created_at, updated_at) "
                          "VALUES (1, 'org', 'alice', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO appointments (id, org_id, owner_user_id, title, starts_at, ends_at, timezone,"
                          " status, version, created_at, updated_at) VALUES (1, 'org', 1, 'Kept', CURRENT_TIMESTAMP,"
                          " CURRENT_TIMESTAMP, 'UTC', 'scheduled', 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO calendar_event_links (id, appointment_id, user_id, calendar_id,"
                          " external_event_id, sync_status, synced_version, attempts) VALUES"
                          " (1, 1, 1, 'primary', 'abc123', 'synced', 3, 0)"))
    db.upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT appointment_id, external_event_id, sync_status, synced_version"
                                 " FROM calendar_event_links")).all()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    db.engine.dispose()
    assert [tuple(r) for r in rows] == [(1, "abc123", "synced", 3)]
    assert diff == []
