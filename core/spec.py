"""Declarations a plugin hands to core: what a connector is, how it authenticates, what it can do.

Everything here is a frozen dataclass holding data (and, for ``validate`` and action
``run``, a plain callable). Core does OAuth, encryption, storage, validation and jobs once
for every connector from these declarations.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KINDS = ("oauth2", "config")
FIELD_TYPES = ("string", "integer", "boolean", "email", "choice", "url", "list")


@dataclass(frozen=True)
class OAuthSpec:
    """An OAuth 2.0 authorization server as a connector uses it.

    ``env_prefix`` names the variables that configure it: ``<PREFIX>_CLIENT_ID``,
    ``_CLIENT_SECRET``, ``_REDIRECT_URI`` and the endpoint overrides ``_AUTH_URI``,
    ``_TOKEN_URI``, ``_REVOKE_URI``, ``_API_ROOT``.
    """

    env_prefix: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    revoke_url: str | None = None
    api_root: str | None = None
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    pkce: bool = True
    token_endpoint_auth_method: str = "client_secret_post"
    scope_separator: str = " "
    issuer: str | None = None
    #: Scopes the provider may omit from the token response without it being an error.
    optional_scopes: tuple[str, ...] = ()
    #: False when the provider takes no ``scope`` parameter (access set by the
    #: integration's capabilities); ``scopes`` then only describe that access in the grid.
    request_scopes: bool = True
    #: Authorize parameters that make the provider add newly asked scopes to the user's earlier
    #: grant (incremental authorization, e.g. ``{"include_granted_scopes": "true"}``); they
    #: replace ``extra_authorize_params`` of the same name when a connected user is asked for
    #: only the scopes still missing. Empty: the provider cannot, the user connects again in full.
    incremental_params: Mapping[str, str] = field(default_factory=dict)
    #: ``"json"`` sends token and revocation requests as a JSON body, not a form.
    token_request_format: str = "form"
    #: ``token_response(data) -> data`` rewrites the token endpoint's JSON (code exchange and
    #: refresh) before core reads it, e.g. a ``{"ok": false, "error": "invalid_code"}`` answer
    #: into RFC 6749 error codes (``invalid_grant`` makes the connection ``needs_reauth``).
    token_response: Callable[[dict], dict] | None = None
    #: ``revoke(provider, token) -> bool`` replaces RFC 7009 revocation at ``revoke_url``
    #: (a provider's own revocation method); ``provider`` is the resolved
    #: :class:`core.oauth.provider.OAuthProvider`, ``token`` the stored token dict.
    revoke: Callable[[Any, dict], bool] | None = None


@dataclass(frozen=True)
class ConfigField:
    """One field of a config connector's form or of a connector's settings."""

    name: str
    label: str
    type: str = "string"
    secret: bool = False
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""
    #: A route of the connector (under ``/api/v1/connectors/<key>/``) answering a list of
    #: ``{"id", "summary", "primary"?}`` the page offers as choices (e.g. ``"calendars"``).
    options_from: str = ""


@dataclass(frozen=True)
class ActionParam:
    """One typed parameter of an action (it becomes a property of the tool's JSON schema)."""

    name: str
    type: str
    description: str
    required: bool = True
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """A named operation of a connector, run as one user: a REST endpoint and an agent tool.

    ``run(ctx, **arguments)`` receives an :class:`core.actions.ActionContext` and the
    validated arguments, and returns JSON values (dicts, lists, strings, numbers, booleans,
    None); a ``datetime``, ``date`` or ``time`` is sent as ISO 8601. Anything else is a bug:
    the call answers ``internal_error`` and the error is logged.
    """

    name: str
    description: str
    run: Callable[..., Any]
    params: tuple[ActionParam, ...] = ()


@dataclass(frozen=True)
class QuotaSpec:
    """A provider quota the connector keeps under, shared by every worker (see :meth:`core.Platform.buckets`).

    The operator sets it with the environment variable ``variable`` (requests per minute,
    default ``per_minute``). A ``per_user`` quota is one bucket per user
    (``<key>:<name>:<user_id>``), otherwise one for the whole platform (``<key>:<name>``).
    """

    name: str
    variable: str
    per_minute: int
    per_user: bool = False
    description: str = ""


#: The ``sync_status`` values every sync handler may show.
SYNC_STATUSES = ("pending", "synced", "failed", "deleted")


@dataclass(frozen=True)
class SyncCapability:
    """The connector pushes each user's appointments to an external calendar.

    Core drives it from the appointment events and ``connectors sync reconcile``; a user has
    at most one sync target at a time: the sync-capable connector whose ``setting`` (a boolean
    setting it declares) is on and which is connected. Every callable receives the
    :class:`core.Platform` first and the SQLAlchemy ``session`` of the transaction; none may
    call the provider: they write the connector's own rows and enqueue jobs after commit.

    * ``changed(platform, session, user_id, appointment_id, created)`` — an appointment of
      ``user_id`` (the target's user) was created, changed or cancelled.
    * ``start(platform, session, user_id)`` — this connector just became the user's target
      (connected, or sync switched on): bring the calendar in line with every appointment,
      including those it has no rows for yet.
    * ``stop(platform, session, user_id)`` — it stopped being the target because another
      connector took over: remove the events it placed for future appointments.
    * ``reconcile(platform, session)`` — re-enqueue whatever is behind, for every user;
      return ``{name: count}`` for the report of ``connectors sync reconcile``.
    * ``details(platform, session, user_id)`` — extra status fields (``last_sync``…) or None.
    * ``appointment_fields(platform, session, appointment_ids)`` — ``{appointment_id: {field:
      value}}`` shown by the appointments API: ``sync_status`` (one of ``statuses``),
      ``external_event_id``, ``calendar_id``, ``sync_error``, ``synced_at``, ``external_url``
      (where a person opens the event, or None), and ``sync_change`` when the owner changed the
      event in the external calendar and must choose: ``{"change": "moved"|"deleted",
      "starts_at", "ends_at", "choose": <URL taking POST {"choice": …}>, "keep": <choice>,
      "restore": <choice>}``.
    * ``statuses`` — its own ``sync_status`` values, besides :data:`SYNC_STATUSES` (the OpenAPI
      document lists them all).
    """

    changed: Callable[..., None]
    start: Callable[..., None]
    stop: Callable[..., None]
    reconcile: Callable[..., dict]
    details: Callable[..., dict | None] | None = None
    appointment_fields: Callable[..., dict] | None = None
    setting: str = "sync_enabled"
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectorSpec:
    """Everything core needs to list, connect, store and serve one connector.

    * ``kind`` is ``oauth2`` (give ``oauth``) or ``config`` (give ``fields`` and ``validate``).
    * ``validate(values)`` tries config credentials for real and returns an account label;
      it raises :class:`core.errors.ConnectorValidationError` with a message a user can act on.
    * ``fetch_account(token, api_root)`` returns the connected account's label (an email)
      from a fresh OAuth token.
    * ``settings`` declares per-user settings accepted by ``PATCH .../settings``.
    * ``quotas`` declares provider quotas (:class:`QuotaSpec`) with their variables.
    * ``sync`` declares that it pushes appointments to an external calendar (:class:`SyncCapability`).
    * ``check_settings(platform, session, user_id, changes)`` checks settings the declared types
      cannot (a calendar id among the user's calendars, say) before they are stored; it returns
      ``{field: [message, …]}`` (empty when all is well), answered as a 422 naming each field.
    """

    key: str
    name: str
    kind: str
    provider: str
    description: str = ""
    #: A ``pathlib.Path`` to an SVG or PNG file shipped in the plugin's package (served at
    #: ``/connectors/<key>/icon``), or a URL; empty shows the generic icon.
    icon: str | Path = ""
    oauth: OAuthSpec | None = None
    fields: tuple[ConfigField, ...] = ()
    validate: Callable[[dict], str] | None = None
    fetch_account: Callable[[dict, str | None], str] | None = None
    settings: tuple[ConfigField, ...] = ()
    actions: tuple[Action, ...] = ()
    quotas: tuple[QuotaSpec, ...] = ()
    sync: SyncCapability | None = None
    check_settings: Callable[..., dict] | None = None

    def problems(self) -> list[str]:
        """Return what is wrong with this declaration (empty when it is usable)."""
        found = []
        if not KEY_RE.match(self.key or ""):
            found.append(f"key {self.key!r} must match {KEY_RE.pattern}")
        if self.kind not in KINDS:
            found.append(f"kind {self.kind!r} must be one of {', '.join(KINDS)}")
        if self.kind == "oauth2":
            if self.oauth is None:
                found.append("an oauth2 connector needs an OAuthSpec in 'oauth'")
            elif not self.oauth.scopes:
                found.append("an oauth2 connector must declare its scopes")
            elif self.oauth.token_request_format not in ("form", "json"):
                found.append(f"token_request_format {self.oauth.token_request_format!r} must be 'form' or 'json'")
        if self.kind == "config":
            if not self.fields:
                found.append("a config connector needs 'fields'")
            if not callable(self.validate):
                found.append("a config connector needs a callable 'validate'")
        for f in (*self.fields, *self.settings):
            if f.type not in FIELD_TYPES:
                found.append(f"field {f.name!r} has unknown type {f.type!r}")
        names = [a.name for a in self.actions]
        if len(names) != len(set(names)):
            found.append("action names must be unique")
        for a in self.actions:
            if not re.match(r"^[a-z][a-z0-9_]*$", a.name) or not callable(a.run):
                found.append(f"action {a.name!r} needs a snake_case name and a callable 'run'")
        found.extend(self._quota_problems())
        if self.sync is not None:
            found.extend(self._sync_problems())
        return found

    def _quota_problems(self) -> list[str]:
        found = []
        for quota in self.quotas:
            if not re.match(r"^[a-z][a-z0-9_]*$", quota.name) or not re.match(r"^[A-Z][A-Z0-9_]*$", quota.variable):
                found.append(f"quota {quota.name!r} needs a snake_case name and an UPPER_CASE variable")
            if not isinstance(quota.per_minute, int) or quota.per_minute <= 0:
                found.append(f"quota {quota.name!r} needs a positive per_minute default")
        if len({q.name for q in self.quotas}) != len(self.quotas):
            found.append("quota names must be unique")
        return found

    def _sync_problems(self) -> list[str]:
        found = []
        sync = self.sync
        if not isinstance(sync, SyncCapability):
            return [f"sync must be a SyncCapability, got {type(sync).__name__}"]
        for name in ("changed", "start", "stop", "reconcile"):
            if not callable(getattr(sync, name)):
                found.append(f"sync needs a callable {name!r}")
        setting = next((f for f in self.settings if f.name == sync.setting), None)
        if setting is None or setting.type != "boolean":
            found.append(f"sync needs a boolean setting {sync.setting!r} among 'settings'")
        return found
