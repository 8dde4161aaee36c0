"""The application factory: configuration, storage, plugins, jobs and routes, wired once per app."""
from __future__ import annotations

import logging
import os

from flask import Flask

from core import i18n, jobs, logs, metrics, platform, redaction, sync, web
from core.api import actions, appointments, availability, connectors, create_api, health, me, realtime, tools
from core.auth import TokenVerifier, UserDirectory
from core.config import load_config
from core.credentials import CredentialStore
from core.crypto import Cipher
from core.db import Database, close_session
from core.plugins import PluginRegistry
from voice_tools import ToolCatalog

log = logging.getLogger(__name__)


def create_app(environ: dict | None = None, *, plugins=(), load_entry_points: bool = True,
               instance_path: str | None = None) -> Flask:
    """Build the platform.

    ``environ`` replaces ``os.environ`` for configuration (tests pass their own).
    ``plugins`` are extra ``(name, module)`` pairs registered besides the entry points.
    """
    config = load_config(environ, instance_path)
    redaction.install()
    logs.configure(config.is_production)
    app = Flask("connectors", instance_path=str(config.instance_path.resolve()),
                static_folder=os.path.join(os.path.dirname(__file__), "static"), static_url_path="/static")
    app.config["CONNECTORS"] = config
    app.json.sort_keys = False
    ext = app.extensions
    ext["connectors.config"] = config

    db = Database(config.database_url)
    jobs.install(db.sessionmaker)
    ext["connectors.db"] = db
    ext["connectors.cipher"] = cipher = Cipher(config.encryption_keys)
    ext["connectors.verifier"] = TokenVerifier(config)
    ext["connectors.users"] = UserDirectory()

    redis_client = None
    if config.redis_url:
        from redis import Redis
        from rq import Queue

        redis_client = Redis.from_url(config.redis_url, socket_timeout=5, socket_connect_timeout=2)
        ext["connectors.queue"] = Queue(jobs.QUEUE_NAME, connection=redis_client)
    ext["connectors.redis"] = redis_client

    disabled = frozenset(k.strip() for k in config.environ.get("CONNECTORS_DISABLED", "").split(",") if k.strip())
    registry = PluginRegistry(disabled)
    registry.add_default(sync, name=sync.NAME)
    if load_entry_points:
        registry.load_entry_points()
    for name, module in plugins:
        registry.add(module, name=name)
    ext["connectors.registry"] = registry
    ext["connectors.credentials"] = credentials = CredentialStore(db, cipher, registry, config, redis_client)
    ext[platform.EXTENSION] = registry.platform = platform.Platform(
        app, config=config, db=db, credentials=credentials, registry=registry, redis=redis_client)
    db.plugin_migrations = registry.migrations
    _check_quotas(config, registry)
    _check_configuration(registry)
    ext["connectors.tools"] = ToolCatalog(registry)

    i18n.init_app(app)
    app.teardown_appcontext(close_session)
    logs.init_app(app)
    metrics.init_app(app)
    api = create_api(app)
    api.register_blueprint(connectors.blp)
    api.register_blueprint(actions.blp)
    api.register_blueprint(appointments.blp)
    appointments.document_sync_statuses(api, registry.connectors.values())
    api.register_blueprint(availability.blp)
    api.register_blueprint(tools.blp)
    api.register_blueprint(me.blp)
    realtime.init_app(app, api)
    for key, blueprints in registry.routes.items():
        for blueprint in blueprints:
            register = api.register_blueprint if hasattr(blueprint, "register_views_in_doc") else app.register_blueprint
            register(blueprint, url_prefix=blueprint.url_prefix or f"/api/v1/connectors/{key}",
                     name=f"{key}_{blueprint.name}")
    app.register_blueprint(health.blp)
    app.register_blueprint(web.bp)
    return app


def _check_quotas(config, registry) -> None:
    """A malformed quota variable stops start-up with a message naming it."""
    for spec in registry.connectors.values():
        for quota in spec.quotas:
            platform.quota_rate(config.environ, quota)


def _check_configuration(registry) -> None:
    """Every plugin's ``check_configuration`` problems stop start-up with one message."""
    from core.config import ConfigError

    problems = [p for found in registry.hook.check_configuration(platform=registry.platform) for p in found or ()]
    if problems:
        raise ConfigError("; ".join(problems))
