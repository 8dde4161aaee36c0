"""Running a connector's actions as one user: argument validation, context, credentials."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from core import connections, metrics
from core.errors import ConnectorError, NeedsReauth
from core.i18n import _
from core.oauth.provider import resolve

PYTHON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
                "array": list, "object": dict}
MAX_STRING = 20_000


@dataclass
class ActionContext:
    """What an action's ``run(ctx, **arguments)`` receives.

    ``user`` is the :class:`core.CurrentUser` acting; ``spec`` the connector's declaration;
    ``config`` holds a config connector's decrypted values; ``settings`` the user's
    settings; ``access_token()`` a fresh OAuth token (refreshed once for all workers);
    ``api_root`` the provider API root after ``<PREFIX>_API_ROOT``; ``platform`` the
    :class:`core.Platform` (locks, quotas, database, configuration).
    """

    user: Any
    spec: Any
    config: dict
    settings: dict
    credentials: Any
    app_config: Any
    platform: Any = None

    def access_token(self, rejected: str | None = None) -> str:
        """A valid access token; pass the token the provider just ``rejected`` to force a refresh."""
        return self.credentials.access_token(self.user.id, self.spec.key, rejected=rejected)

    @property
    def api_root(self) -> str | None:
        return resolve(self.spec, self.app_config).api_root if self.spec.oauth else None

    def env(self, name: str, default: str | None = None) -> str | None:
        """An operator setting of this connector's provider, e.g. ``env("API_ROOT")``."""
        prefix = self.spec.oauth.env_prefix if self.spec.oauth else self.spec.key.upper()
        return self.app_config.provider(prefix, name, default)


def json_result(value: Any) -> Any:
    """An action's result as plain JSON values: the one encoder of every action's result (REST, agent
    tools, MCP). Datetimes, dates and times become ISO 8601 strings (``2030-05-01T09:30:00+00:00``);
    anything else JSON cannot carry (an object, a set, NaN) raises ``TypeError`` or ``ValueError`` —
    a plugin's bug, answered as ``internal_error`` and logged.
    """
    return json.loads(json.dumps(value, default=_iso, allow_nan=False))


def _iso(value: Any) -> str:
    if isinstance(value, (date, time)):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"an action returned a {type(value).__name__}, which JSON cannot carry")


def find_action(spec, name: str):
    """The action ``name`` of ``spec``, or None."""
    return next((a for a in spec.actions if a.name == name), None)


def validate_arguments(action, arguments: Any) -> dict:
    """Check ``arguments`` against the action's params; raise ``invalid_input`` naming the field."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ConnectorError(_("Arguments must be a JSON object."), code="invalid_input")
    declared = {p.name: p for p in action.params}
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        raise ConnectorError(_("Unknown argument “%(name)s”.", name=unknown[0]), code="invalid_input", field=unknown[0])
    clean = {}
    for name, param in declared.items():
        value = arguments.get(name)
        if value is None:
            if param.required:
                raise ConnectorError(_("“%(name)s” is required: %(description)s", name=name,
                                       description=param.description), code="invalid_input", field=name)
            continue
        expected = PYTHON_TYPES.get(param.type.split("[")[0], str)
        if not isinstance(value, expected) or (isinstance(value, bool) and param.type != "boolean"):
            raise ConnectorError(_("“%(name)s” must be of type %(type)s.", name=name, type=param.type),
                                 code="invalid_input", field=name)
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ConnectorError(_("“%(name)s” is too long.", name=name), code="invalid_input", field=name)
        if param.enum and value not in param.enum:
            raise ConnectorError(_("“%(name)s” must be one of %(choices)s.", name=name, choices=", ".join(param.enum)),
                                 code="invalid_input", field=name)
        clean[name] = value
    return clean


def run_action(session, extensions, user, spec, action, arguments) -> Any:
    """Run ``action`` of ``spec`` as ``user`` with validated ``arguments``.

    Returns the result through :func:`json_result`. Raises :class:`NotConnected` when the user
    has not connected ``spec`` and
    :class:`NeedsReauth` when the connection needs a new consent
    (:func:`core.connections.require_usable`). An action raising :class:`NeedsReauth` — or a
    ``ConnectorError(code="needs_reauth")``, which is one — marks the connection ``needs_reauth``.
    """
    link = connections.require_usable(session, user.id, spec.key, spec.name)
    clean = validate_arguments(action, arguments)
    credentials = extensions["connectors.credentials"]
    ctx = ActionContext(
        user=user, spec=spec,
        config=credentials.load_config(session, user.id, spec.key) if spec.kind == "config" else {},
        settings=connections.settings_of(link, spec), credentials=credentials,
        app_config=extensions["connectors.config"], platform=extensions["connectors.platform"],
    )
    try:
        result = action.run(ctx, **clean)
    except NeedsReauth as exc:
        metrics.provider_call(spec.key, exc.code)
        credentials.mark_needs_reauth(user.id, spec.key, exc.message)
        raise
    except ConnectorError as exc:
        metrics.provider_call(spec.key, exc.code)
        raise
    metrics.provider_call(spec.key)
    return json_result(result)
