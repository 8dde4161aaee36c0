"""Liveness and readiness probes."""
from flask import Blueprint, current_app
from sqlalchemy import text

from core.auth import public

blp = Blueprint("health", __name__)


@blp.get("/healthz")
@public
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
@public
def readyz():
    """The database (and Redis, when configured) answer; 503 naming what does not."""
    checks = {}
    try:
        with current_app.extensions["connectors.db"].engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    redis_client = current_app.extensions.get("connectors.redis")
    if redis_client is not None:
        try:
            redis_client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
