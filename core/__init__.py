"""Connector platform core: the app factory, storage, auth, OAuth and the plugin API.

Plugins import what they need from here::

    from core import hookimpl, ConnectorSpec, OAuthSpec, ConfigField, Action, ActionParam
    from core import gettext as _   # messages a person reads, in their language (docs/architecture.md)
"""
import pluggy

PROJECT_NAME = "connectors"
ENTRY_POINT_GROUP = "connectors.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

from core.spec import Action, ActionParam, ConfigField, ConnectorSpec, OAuthSpec  # noqa: E402
from core.errors import ConnectorValidationError  # noqa: E402
from core.events import DomainEvent  # noqa: E402
from core.i18n import gettext, lazy_gettext, ngettext  # noqa: E402

__all__ = [
    "hookimpl", "hookspec", "Action", "ActionParam", "ConfigField", "ConnectorSpec",
    "OAuthSpec", "ConnectorValidationError", "DomainEvent", "PROJECT_NAME", "ENTRY_POINT_GROUP",
    "gettext", "lazy_gettext", "ngettext",
]
