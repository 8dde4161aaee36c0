"""A user's connection to one connector: activate, describe, change settings, disconnect."""
from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

import requests
from sqlalchemy import select

from core.errors import NeedsReauth, NotConnected
from core.events import DomainEvent, emit
from core.i18n import _, connector_words
from core.models import UserConnector, UserConnectorCredential
from core.oauth.provider import resolve

log = logging.getLogger(__name__)

MASK = "••••••••"


def user_rows(session, user_id: int) -> tuple[dict, dict]:
    """All of a user's ``user_connectors`` and credentials rows, by connector key (two queries)."""
    links = session.scalars(select(UserConnector).where(UserConnector.user_id == user_id))
    creds = session.scalars(select(UserConnectorCredential).where(UserConnectorCredential.user_id == user_id))
    return ({row.connector_code: row for row in links}, {row.connector_code: row for row in creds})


def get_link(session, user_id: int, key: str, create: bool = False) -> UserConnector | None:
    """The ``user_connectors`` row of ``user_id`` for ``key`` (made inactive when ``create``)."""
    link = session.scalars(select(UserConnector).where(
        UserConnector.user_id == user_id, UserConnector.connector_code == key)).first()
    if link is None and create:
        link = UserConnector(user_id=user_id, connector_code=key, status="inactive")
        session.add(link)
    return link


#: The statuses in which a connection may call its provider (``error``: its last use failed, the
#: grant stands). Decided here only: :func:`require_usable`.
USABLE = ("active", "error")


def require_usable(session, user_id: int, key: str, name: str | None = None) -> UserConnector:
    """The one answer to "may ``user_id``'s connection of ``key`` call its provider now?".

    Returns the ``user_connectors`` row; raises :class:`core.NeedsReauth` (with the reason the
    connection was marked) when the provider refused the grant, :class:`core.NotConnected`
    otherwise. ``name`` is the connector's name in the messages (default: ``key``).
    """
    return usable(get_link(session, user_id, key), key, name)


def usable(link, key: str, name: str | None = None):
    """:func:`require_usable`'s verdict on a connection row already read: ``link`` (a ``UserConnector``,
    or any row with its ``status`` and ``last_error``; None when there is no connection) when it may
    call its provider, else the same exception."""
    if link is not None and link.status in USABLE:
        return link
    name = name or key
    if link is not None and link.status == "needs_reauth":
        raise NeedsReauth(link.last_error or _("Reconnect %(name)s to resume.", name=name))
    raise NotConnected(_("%(name)s is not connected.", name=name), connector=key)


def settings_of(link: UserConnector | None, spec) -> dict:
    """The connection's settings merged over the connector's declared defaults."""
    values = {f.name: f.default for f in spec.settings}
    if link is not None and link.settings_json:
        values.update(json.loads(link.settings_json))
    return values


def activate(session, registry, user, spec, account_label: str | None) -> UserConnector:
    """Mark the connection active and tell plugins (``connector.connected``)."""
    link = get_link(session, user.id, spec.key, create=True)
    link.status, link.account_label, link.last_error = "active", account_label, None
    session.flush()
    emit(registry, session, DomainEvent("connector.connected", user.id, user.org_id, {"connector": spec.key}))
    return link


def update_settings(session, registry, user, spec, changes: dict) -> dict:
    """Store validated settings and tell plugins (``connector.settings_changed``)."""
    link = get_link(session, user.id, spec.key, create=True)
    before = settings_of(link, spec)
    after = {**before, **changes}
    link.settings_json = json.dumps(after, sort_keys=True)
    session.flush()
    emit(registry, session, DomainEvent("connector.settings_changed", user.id, user.org_id,
                                           {"connector": spec.key, "before": before, "after": after}))
    return after


def shares_grant(session, user_id: int, spec, registry, account_label: str | None) -> bool:
    """True when another active connector of the same provider and account uses the same grant.

    A provider may revoke a whole grant (every scope of the client for that account) whichever
    token is sent, so disconnecting one connector must not revoke at the provider while a
    sibling connector of the same provider still relies on the same account.
    """
    others = session.scalars(select(UserConnector).where(
        UserConnector.user_id == user_id, UserConnector.connector_code != spec.key,
        UserConnector.status.in_(("active", "error", "needs_reauth")))).all()
    for other in others:
        other_spec = registry.connector(other.connector_code)
        if (other_spec and other_spec.kind == "oauth2" and other_spec.provider == spec.provider
                and other.account_label == account_label):
            return True
    return False


def disconnect(session, registry, credentials, config, user, spec) -> bool:
    """Revoke at the provider (when it has an endpoint and no sibling shares the grant),
    purge the credentials, deactivate, and emit ``connector.revoked``.

    Returns whether the provider confirmed the revocation. The local purge happens whatever
    the provider answers: a user who disconnects is disconnected.
    """
    link = get_link(session, user.id, spec.key, create=True)
    _before_disconnect(registry, session, user.id, spec.key)
    revoked = False
    if spec.kind == "oauth2":
        token = credentials.load_token(session, user.id, spec.key)
        provider = resolve(spec, config)
        if token and provider.revoke_url and not shares_grant(session, user.id, spec, registry, link.account_label):
            revoked = (spec.oauth.revoke or _revoke_at_provider)(provider, token)
    credentials.delete(session, user.id, spec.key)
    link.status, link.account_label, link.last_error = "inactive", None, None
    session.flush()
    emit(registry, session, DomainEvent("connector.revoked", user.id, user.org_id, {"connector": spec.key}))
    return revoked


def _before_disconnect(registry, session, user_id: int, key: str) -> None:
    """Every plugin's ``before_disconnect``, each on its own: one that raises is logged (its
    exception's type and where it was raised, never its message, which may carry a token) and
    the disconnect goes on — a user who disconnects is disconnected."""
    arguments = {"connector": key, "user_id": user_id, "session": session, "platform": registry.platform}
    for impl in reversed(registry.hook.before_disconnect.get_hookimpls()):  # pluggy's calling order
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception as exc:  # a plugin's bug must not keep a user connected
            where = traceback.extract_tb(exc.__traceback__)[-1]
            log.error("before_disconnect of plugin %s raised %s (%s:%s) while disconnecting %s; disconnected anyway",
                      impl.plugin_name, type(exc).__name__, where.filename, where.lineno, key)


def _revoke_at_provider(provider, token) -> bool:
    value = token.get("refresh_token") or token["access_token"]
    client = provider.session()
    try:
        response = client.revoke_token(provider.revoke_url, token=value, timeout=10)
        return response.status_code < 400
    except requests.RequestException as exc:
        log.warning("Revocation at %s failed: %s", provider.connector, type(exc).__name__)
        return False
    finally:
        client.close()


def missing_variables(spec, config) -> list[str]:
    """The variables an operator must set before ``spec`` can connect (OAuth client id/secret)."""
    if spec.kind != "oauth2":
        return []
    prefix = spec.oauth.env_prefix
    return [f"{prefix}_{name}" for name in ("CLIENT_ID", "CLIENT_SECRET") if not config.provider(prefix, name)]


def user_status(spec, link, config) -> str:
    """A user's status of ``spec``: the connection's own, else ``inactive`` or ``not_configured``."""
    status = link.status if link is not None else "inactive"
    if status == "inactive" and missing_variables(spec, config):
        return "not_configured"
    return status


def describe(spec, link: UserConnector | None, cred, config, credentials, session, registry) -> dict:
    """The status of one connector for one user, as the grid and status routes show it.

    ``link`` and ``cred`` are the user's ``user_connectors`` and credentials rows (or None).
    """
    info = {
        "key": spec.key, "name": spec.name, "kind": spec.kind, "provider": spec.provider,
        "description": connector_words(spec.description), "icon": icon_url(spec),
        "actions": [{"name": a.name, "description": a.description} for a in spec.actions],
        "settings_fields": [_field(f) for f in spec.settings],
        "missing_variables": missing_variables(spec, config),
    }
    info["configured"] = not info["missing_variables"]
    if spec.kind == "oauth2":
        info["scopes"] = list(spec.oauth.scopes)
    else:
        info["fields"] = [_field(f) for f in spec.fields]
    status = user_status(spec, link, config)
    info.update({
        "status": status,
        "connected": status in USABLE,
        "account": link.account_label if link else None,
        "expires_at": cred.expires_at.isoformat() if cred and cred.expires_at else None,
        "granted_scopes": cred.scopes.replace(",", " ").split() if cred and cred.scopes else [],  # some use commas
        "missing_scopes": [s for s in spec.oauth.optional_scopes if cred and cred.scopes is not None
                           and s not in cred.scopes.replace(",", " ").split()] if spec.kind == "oauth2" else [],
        "settings": settings_of(link, spec),
        "last_error": _(link.last_error) if link and link.last_error else None,  # stored in English when marked
        "updated_at": link.updated_at.isoformat() if link else None,
    })
    if link is not None:
        for extra in registry.hook.status_details(connector=spec.key, user_id=link.user_id, session=session,
                                                   platform=registry.platform):
            info.update(extra or {})
    if spec.kind == "config" and cred is not None:
        values = credentials.config_of(cred)
        info["config"] = {f.name: (MASK if f.secret and values.get(f.name) else values.get(f.name))
                          for f in spec.fields}
    return info


GENERIC_ICON = "/static/icons/generic.svg"
ICON_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def icon_file(spec):
    """The icon file a plugin ships for ``spec`` (a ``Path`` to an SVG or PNG that exists), or None."""
    icon = getattr(spec, "icon", None)
    if isinstance(icon, Path) and icon.suffix in ICON_TYPES and icon.is_file():
        return icon
    return None


def icon_url(spec) -> str:
    """Where a browser finds ``spec``'s icon: the plugin's file, a URL it gave, or the generic icon."""
    if icon_file(spec) is not None:
        return f"/connectors/{spec.key}/icon"
    icon = getattr(spec, "icon", None)
    if isinstance(icon, str) and icon.startswith(("/static/", "https://")):
        return icon
    return GENERIC_ICON


def _field(f) -> dict:
    return {"name": f.name, "label": connector_words(f.label), "type": f.type, "secret": f.secret,
            "required": f.required, "default": f.default, "choices": list(f.choices), "help": connector_words(f.help),
            "options_from": f.options_from or None}
