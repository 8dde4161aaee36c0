"""Configuration: typed variables, production refuses missing secrets, development generates them."""
import os
import stat

import pytest

from core.config import ConfigError, load_config
from core.crypto import generate_key


def test_development_generates_secrets_once_with_mode_0600(tmp_path):
    first = load_config({}, tmp_path)
    second = load_config({}, tmp_path)
    assert first.encryption_keys == second.encryption_keys and first.jwt_secret == second.jwt_secret
    mode = stat.S_IMODE(os.stat(tmp_path / "encryption.key").st_mode)
    assert mode == 0o600
    assert first.database_url.startswith("sqlite:///") and first.redis_url is None


@pytest.mark.parametrize("missing, variable", [
    ("CONNECTORS_ENCRYPTION_KEYS", "CONNECTORS_ENCRYPTION_KEYS"),
    ("JWT_SECRET", "JWT_SECRET"),
])
def test_production_refuses_missing_secret(tmp_path, missing, variable):
    env = {"APP_ENV": "production", "CONNECTORS_ENCRYPTION_KEYS": generate_key(), "JWT_SECRET": "s" * 40}
    del env[missing]
    with pytest.raises(ConfigError, match=variable):
        load_config(env, tmp_path)
    assert not (tmp_path / "encryption.key").exists()


def test_production_refuses_google_connector_without_client(tmp_path):
    from core.app import create_app

    env = {"APP_ENV": "production", "CONNECTORS_ENCRYPTION_KEYS": generate_key(), "JWT_SECRET": "s" * 40,
           "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    with pytest.raises(ConfigError, match="GOOGLE_CLIENT_ID"):
        create_app(env, instance_path=str(tmp_path))
    create_app({**env, "GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "secret"}, instance_path=str(tmp_path))


@pytest.mark.parametrize("env, message", [
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"FRONTEND_URL": "not a url"}, "FRONTEND_URL"),
    ({"CONNECTORS_ENCRYPTION_KEYS": "short"}, "CONNECTORS_ENCRYPTION_KEYS"),
    ({"JWT_SECRET": "a" * 40, "JWT_PUBLIC_KEY": "pem"}, "not both"),
])
def test_malformed_variables_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env, tmp_path)


@pytest.mark.parametrize("value", ["lots", "0"])
def test_a_malformed_quota_variable_of_a_plugin_stops_start_up(tmp_path, value):
    from core.app import create_app

    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "GOOGLE_CALENDAR_QUOTA_USER_PER_MIN": value}
    with pytest.raises(ConfigError, match="GOOGLE_CALENDAR_QUOTA_USER_PER_MIN"):
        create_app(env, instance_path=str(tmp_path))


def test_postgres_urls_use_psycopg3(tmp_path):
    config = load_config({"DATABASE_URL": "postgres://u@h/db"}, tmp_path)
    assert config.database_url == "postgresql+psycopg://u@h/db"
