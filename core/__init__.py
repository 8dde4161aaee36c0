"""Connector platform core, and the public plugin API.

A connector plugin imports only from this module (an import-linter contract holds the line);
every name below is documented in ``docs/plugins.md``::

    from core import hookimpl, ConnectorSpec, OAuthSpec, ConfigField, Action, ActionParam
    from core import gettext as _   # messages a person reads, in their language (docs/architecture.md)
"""
import pluggy

PROJECT_NAME = "connectors"
ENTRY_POINT_GROUP = "connectors.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# Declarations a plugin hands to core.
from core.spec import (  # noqa: E402
    Action, ActionParam, ConfigField, ConnectorSpec, OAuthSpec, QuotaSpec, SyncCapability,
)
# Typed errors: raise them from actions, validators and sync handlers; core maps them once.
from core.errors import (  # noqa: E402
    ConnectorError, ConnectorValidationError, InvalidInput, NeedsReauth, NotConnected, NotFound,
    ProviderError, RateLimited,
)
from core.config import ConfigError  # noqa: E402
from core.events import DomainEvent  # noqa: E402
from core.availability import BusyCache, BusyTimes  # noqa: E402
from core.permissions import may_write_for  # noqa: E402
# Calling providers over HTTP, and the SSRF guard for hosts and URLs a user types in.
from core.http_client import (  # noqa: E402
    TokenRejected, api_root, call_with_token, error_for_status, rate_limited, request_json, retry_after,
    trying_credentials,
)
from core.netguard import PinnedPoolManager, guarded_session, private_hosts_allowed, resolve_public  # noqa: E402
# Shared state across processes, jobs, storage.
from core.locks import LockTimeout  # noqa: E402
from core.quota import Bucket, Grant, Quota  # noqa: E402
from core.jobs import dispatch, dispatch_in, enqueue_after_commit  # noqa: E402
from core.run_threads import hand_off, others_waiting  # noqa: E402
from core.models import (  # noqa: E402
    Appointment, Base as Model, User, UserConnector, UserConnectorCredential, UTCDateTime, utcnow,
)
from core.db import get_session  # noqa: E402
from core.event_links import EventLink  # noqa: E402
# Who is calling, and the typed handle on the platform's services.
from core.auth import CurrentUser, current_user, public  # noqa: E402
from core.actions import ActionContext  # noqa: E402
from core.action_times import parse_datetime, parse_event_end, parse_time_range, parse_time_zone  # noqa: E402
from core.platform import Platform, current_platform  # noqa: E402
from core.connections import settings_of  # noqa: E402
from core.appointments import InvalidAppointment, cancel as cancel_appointment, update as update_appointment  # noqa: E402,E501
# Words a person reads, in their language (docs/architecture.md).
from core.i18n import N_, gettext, lazy_gettext, ngettext  # noqa: E402

__all__ = [
    "PROJECT_NAME", "ENTRY_POINT_GROUP", "hookimpl", "hookspec",
    "Action", "ActionParam", "ConfigField", "ConnectorSpec", "OAuthSpec", "QuotaSpec", "SyncCapability",
    "ConnectorError", "ConnectorValidationError", "InvalidInput", "NeedsReauth", "NotConnected", "NotFound",
    "ProviderError", "RateLimited", "TokenRejected", "ConfigError",
    "DomainEvent", "BusyCache", "BusyTimes",
    "api_root", "call_with_token", "error_for_status", "rate_limited", "request_json", "retry_after",
    "trying_credentials", "PinnedPoolManager", "guarded_session", "private_hosts_allowed", "resolve_public",
    "LockTimeout", "Bucket", "Grant", "Quota", "dispatch", "dispatch_in", "enqueue_after_commit", "hand_off",
    "others_waiting",
    "Model", "UTCDateTime", "utcnow", "EventLink", "Appointment", "User", "UserConnector", "UserConnectorCredential",
    "get_session", "InvalidAppointment", "cancel_appointment", "update_appointment",
    "CurrentUser", "current_user", "may_write_for", "public", "ActionContext", "Platform", "current_platform",
    "parse_datetime", "parse_event_end", "parse_time_range", "parse_time_zone",
    "settings_of",
    "N_", "gettext", "lazy_gettext", "ngettext",
]
