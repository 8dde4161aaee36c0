"""Run in a separate process by the Calendly test: build the app and ask for a fresh token."""
from __future__ import annotations

from core.app import create_app


def fresh_token(env: dict, instance_path: str, user_id: int, key: str, barrier, results) -> None:
    """Create the platform from ``env`` (same database), wait for the other process, then call
    ``credentials.access_token`` and put ``("ok", token)`` or ``("error", description)`` on ``results``."""
    app = create_app(env, instance_path=instance_path)
    credentials = app.extensions["connectors.credentials"]
    barrier.wait(timeout=60)
    try:
        results.put(("ok", credentials.access_token(user_id, key)))
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        app.extensions["connectors.db"].engine.dispose()
