"""Connector platform core: the app factory, storage, auth, OAuth and the plugin API.

Plugins import what they need from here::

    from core import hookimpl, ConnectorSpec, OAuthSpec, ConfigField, Action, ActionParam
"""
import pluggy

PROJECT_NAME = "connectors"
ENTRY_POINT_GROUP = "connectors.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

from core.spec import Action, ActionParam, ConfigField, ConnectorSpec, OAuthSpec  # noqa: E402
from core.errors import ConnectorError, ConnectorValidationError, NeedsReauth, NotConnected, RateLimited  # noqa: E402
from core.netguard import private_hosts_allowed, resolve_public  # noqa: E402
from core.http_client import trying_credentials  # noqa: E402
from core.auth import current_user  # noqa: E402
from core.db import get_session  # noqa: E402
from core.events import DomainEvent  # noqa: E402

__all__ = [
    "hookimpl", "hookspec", "Action", "ActionParam", "ConfigField", "ConnectorSpec",
    "OAuthSpec", "ConnectorError", "ConnectorValidationError", "NeedsReauth", "NotConnected", "RateLimited",
    "DomainEvent", "PROJECT_NAME", "ENTRY_POINT_GROUP", "private_hosts_allowed", "resolve_public",
    "trying_credentials", "current_user", "get_session",
]
