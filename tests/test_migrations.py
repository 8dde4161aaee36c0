"""The Alembic migration and the SQLAlchemy models describe the same schema, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.db import Database
from core.models import Base
from plugins.google_calendar import state  # noqa: F401  (its tables are in the migrations too)

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


def test_migration_matches_models(database_url):
    db = Database(database_url)
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        inspector = inspect(conn)
        for table, columns in CONTRACT.items():
            assert columns <= {c["name"] for c in inspector.get_columns(table)}, table
    db.engine.dispose()
    assert diff == []
