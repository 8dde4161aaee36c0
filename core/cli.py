"""The ``connectors`` command: run, worker, db, plugins, tools, mcp, dev-token, keys, sync, new-plugin."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from core.app import create_app
    from core.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class ConnectorsGroup(FlaskGroup):
    """The command group; a command run on a database that was never migrated says which command to run
    instead of printing the database's error (and its SQL)."""

    def get_command(self, ctx, name):
        """The platform's own commands come first, without loading Flask's plugin commands (another
        package's ``flask.commands`` entry points: flask-limiter's, where installed, costs ~0.3 s of imports)."""
        own = click.Group.get_command(self, ctx, name)
        return own if own is not None else super().get_command(ctx, name)

    def invoke(self, ctx):
        """Run the command; a database error on an unmigrated database becomes a one-line message."""
        from sqlalchemy.exc import SQLAlchemyError

        from core.db import missing_schema
        from core.errors import DatabaseNotMigrated

        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            if not missing_schema(exc):
                raise
            raise click.ClickException(DatabaseNotMigrated().message) from None


@click.group(cls=ConnectorsGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main():
    """Connector platform: per-user connectors, background sync and agent tools."""


def _ext(name):
    return current_app.extensions[f"connectors.{name}"]


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host, port):
    """Apply migrations and serve the platform and its dashboard (development server)."""
    _ext("db").upgrade()
    config = _ext("config")
    click.echo(f"Dashboard: http://{host}:{port}/  (jobs: {'RQ on ' + 'Redis' if config.redis_url else 'in-process'})")
    from werkzeug.serving import run_simple

    run_simple(host, port, current_app._get_current_object(), threaded=True)


@main.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@with_appcontext
def db_upgrade(revision):
    """Apply Alembic migrations (core's and every plugin's branch) up to REVISION."""
    _ext("db").upgrade(revision)
    click.echo(f"Database upgraded to {revision}.")


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any plugin is broken (for CI of deployments).")
@with_appcontext
def plugins_command(as_json, strict):
    """List installed plugins with version, kind, status and error."""
    registry = _ext("registry")
    rows = []
    for info in sorted(registry.plugins.values(), key=lambda i: i.name):
        row = info.as_dict()
        row["kinds"] = sorted({registry.connectors[k].kind for k in info.connectors})
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(f"{'PLUGIN':<24} {'VERSION':<10} {'KIND':<14} {'STATUS':<8} ERROR")
        for row in rows:
            click.echo(f"{row['name']:<24} {row['version']:<10} {','.join(row['kinds']) or '-':<14} "
                       f"{row['status']:<8} {row['error'] or ''}")
    if strict and any(row["status"] != "ok" for row in rows):
        sys.exit(1)


@main.command("tools")
@click.option("--user", help="Only the tools this user (the JWT sub) may call now; needs --org.")
@click.option("--org", help="The user's organization id.")
@click.option("--locale", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the instructions printed with --user.")
@with_appcontext
def tools_command(user, org, locale):
    """Print agent tool schemas as JSON: every tool, or one user's model, instructions and tools."""
    if bool(user) != bool(org):
        raise click.UsageError("--user and --org go together")
    if not user:
        click.echo(json.dumps([tool.schema for tool in _ext("tools").every()], indent=2, ensure_ascii=False))
        return
    from core.db import get_session
    from voice_tools.dispatcher import ToolCall
    from voice_tools.session import agent_setup

    call = ToolCall(current_app.extensions, get_session, _ext("users").user(get_session, org, user))
    click.echo(json.dumps(agent_setup(call, locale), indent=2, ensure_ascii=False))


@main.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--token", envvar="CONNECTORS_SESSION_TOKEN", help="stdio: the session JWT of the user to act as "
              "(default: $CONNECTORS_SESSION_TOKEN). HTTP clients send theirs as a Bearer header.")
@click.option("--host", default="127.0.0.1", show_default=True, help="http: address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="http: port to listen on.")
@click.option("--path", default="/mcp", show_default=True, help="http: the endpoint's path.")
@with_appcontext
def mcp_command(transport, token, host, port, path):
    """Serve the agent tools over the Model Context Protocol (stdio or streamable HTTP)."""
    from core import mcp_server
    from core.auth import AuthError
    from core.errors import DatabaseNotMigrated

    app = current_app._get_current_object()
    if not _ext("db").is_migrated():  # else every tool call would answer with the database's error
        raise click.ClickException(DatabaseNotMigrated().message)
    if transport == "http":
        click.echo(f"MCP endpoint: http://{host}:{port}{path} (Authorization: Bearer <session token>)", err=True)
        mcp_server.serve_http(app, host, port, path)
        return
    if not token:
        raise click.UsageError("stdio needs a session token: --token or CONNECTORS_SESSION_TOKEN")
    try:
        mcp_server.serve_stdio(app, token)
    except AuthError as exc:
        raise click.ClickException(f"The session token is not valid: {exc}") from None


@main.command("dev-token")
@click.option("--user", required=True, help="The user's id in your app (the JWT sub).")
@click.option("--org", required=True, help="The organization id (the org claim).")
@click.option("--ttl", default=3600 * 8, show_default=True, type=int, help="Lifetime in seconds.")
@with_appcontext
def dev_token(user, org, ttl):
    """Mint a session token for local development (refused in production)."""
    from core.auth import mint_token

    config = _ext("config")
    if config.is_production:
        raise click.ClickException("dev-token is disabled when APP_ENV=production")
    if not config.jwt_secret:
        raise click.ClickException("dev-token needs JWT_SECRET (HS256); this app verifies public-key tokens")
    click.echo(mint_token(config, user, org, ttl))


@main.command("new-plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(["oauth2", "config"]), required=True,
              help="oauth2: an OAuth 2.0 sign-in; config: fields such as an API key.")
@click.option("--directory", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Where to create the package connector-<name>/.")
def new_plugin(name, kind, directory):
    """Create a connector package NAME (its key) whose test passes as generated: pyproject with the
    entry point, the plugin module (spec, one action, register_connectors), a test using the kit."""
    from core import scaffold

    try:
        target = scaffold.create(directory, name, kind)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {target}/: cd there, pip install -e '.[test]', then pytest.")


@main.group("keys")
def keys_group():
    """Encryption keys."""


@keys_group.command("generate")
def keys_generate():
    """Print a new 32-byte key for CONNECTORS_ENCRYPTION_KEYS (put it first to rotate)."""
    from core.crypto import generate_key

    click.echo(generate_key())


@keys_group.command("rotate")
@click.option("--batch-size", default=200, show_default=True, type=int)
@with_appcontext
def keys_rotate(batch_size):
    """Re-encrypt every stored secret under the newest key, reporting progress and counts."""
    from core.rotation import rotate_all

    def progress(done, total):
        click.echo(f"  {done}/{total} rows checked", err=True)

    counts = rotate_all(_ext("db"), _ext("cipher"), batch_size=batch_size, progress=progress)
    click.echo(json.dumps(counts))
    if counts["failed"]:
        sys.exit(1)


@main.group("sync")
def sync_group():
    """Background synchronisation."""


@sync_group.command("reconcile")
@with_appcontext
def sync_reconcile():
    """Re-enqueue everything out of date (every plugin's ``reconcile`` hook) and print counts."""
    from core.worker import reconcile_now

    click.echo(json.dumps(reconcile_now(current_app)))


@main.command("worker")
@click.option("--queues", "-q", default="connectors", show_default=True, help="Comma-separated queue names.")
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option("--concurrency", "-c", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes to fork.")
@click.option("--reconcile-every", default=60.0, show_default=True, type=float,
              help="Seconds between periodic reconciles (shared by all workers); 0 turns them off.")
@click.option("--threads", "-t", default=4, show_default=True, type=click.IntRange(1, 64), envvar="WORKER_THREADS",
              help="Run threads per worker for work that waits on providers (sync rounds); 1 runs it in the job.")
@with_appcontext
def worker_command(queues, burst, concurrency, reconcile_every, threads):
    """Run RQ workers (with the app context and RQ's retry scheduler) for background jobs."""
    from core.worker import run

    try:
        status = run(current_app._get_current_object(), [q.strip() for q in queues.split(",") if q.strip()],
                     burst=burst, concurrency=concurrency, reconcile_every=reconcile_every, threads=threads)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(status)
