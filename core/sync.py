"""Sync to an external calendar as a declared capability: core drives every :class:`core.SyncCapability`.

A built-in default plugin (registered like any other, datasette-style): its hooks turn the
domain events into calls of the sync-capable connectors' handlers.

* **One target per user.** A user's sync target is the sync-capable connector that is
  connected (``active``, ``error`` or ``needs_reauth``) with its sync setting on. Connecting
  one with sync on, or switching sync on in its settings, switches the setting off on every
  other sync-capable connector of that user: their ``stop`` removes the future events they
  placed, then the new target's ``start`` brings its calendar in line.
* **Appointment changes** go to the target's ``changed``; a user with no target has them
  recorded by every sync-capable connector (none calls its provider for that user), so that
  the one that becomes the target later already knows what to sync.
* ``connectors sync reconcile`` calls every handler's ``reconcile``; status details and the
  appointments API's per-connector fields come from the handlers too.
"""
from __future__ import annotations

import json

from core import hookimpl

NAME = "core.sync"
CONNECTED = ("active", "error", "needs_reauth")
#: What the appointments API shows of an appointment's sync, from its owner's sync handler.
APPOINTMENT_FIELDS = ("sync_status", "external_event_id", "calendar_id", "sync_error", "synced_at", "sync_change",
                      "external_url")


def capable(platform) -> list:
    """The installed connectors that declare a sync capability, in load order."""
    return [spec for spec in platform.connectors() if spec.sync is not None]


def _enabled(platform, session, user_id: int, spec) -> bool:
    return bool(platform.settings(session, user_id, spec.key).get(spec.sync.setting))


def target(platform, session, user_id: int):
    """The user's sync target (a :class:`core.ConnectorSpec`), or None."""
    for spec in capable(platform):
        row = platform.connection(session, user_id, spec.key)
        if row is not None and row.status in CONNECTED and _enabled(platform, session, user_id, spec):
            return spec
    return None


def recipients(platform, session, user_id: int) -> list:
    """Who records the user's appointment changes: the target, else every sync-capable connector."""
    found = target(platform, session, user_id)
    return [found] if found is not None else capable(platform)


def take_over(platform, session, user_id: int, spec) -> None:
    """Make ``spec`` the user's only sync target: switch the others off (their ``stop``), then ``start``."""
    from core.connections import get_link, settings_of

    for other in capable(platform):
        if other.key == spec.key:
            continue
        row = get_link(session, user_id, other.key, create=True)
        values = settings_of(row, other)
        if values.get(other.sync.setting):
            row.settings_json = json.dumps({**values, other.sync.setting: False}, sort_keys=True)
            session.flush()
            other.sync.stop(platform, session, user_id)
    spec.sync.start(platform, session, user_id)


@hookimpl
def handle_event(event, session, platform):
    """Drive the sync handlers: appointment changes to the target, connections and settings to the rule."""
    if event.name.startswith("appointment."):
        for spec in recipients(platform, session, event.user_id):
            spec.sync.changed(platform, session, event.user_id, event.data["appointment_id"],
                              event.name == "appointment.created")
        return
    spec = platform.connector(event.data.get("connector", ""))
    if spec is None or spec.sync is None:
        return
    if event.name == "connector.connected":
        turned_on = _enabled(platform, session, event.user_id, spec)
    elif event.name == "connector.settings_changed":
        turned_on = bool(event.data["after"].get(spec.sync.setting))
    else:
        return
    row = platform.connection(session, event.user_id, spec.key)
    if turned_on and row is not None and row.status in CONNECTED:
        take_over(platform, session, event.user_id, spec)


@hookimpl
def reconcile(session, platform):
    """Every sync handler's ``reconcile``: re-enqueue whatever is behind."""
    counts: dict[str, int] = {}
    for spec in capable(platform):
        for name, value in (spec.sync.reconcile(platform, session) or {}).items():
            counts[name] = counts.get(name, 0) + value
    return counts


@hookimpl
def status_details(connector, user_id, session, platform):
    """The sync handler's status details (``last_sync``, ``pending_changes``…) of ``connector``."""
    spec = platform.connector(connector)
    if spec is None or spec.sync is None or spec.sync.details is None:
        return None
    return spec.sync.details(platform, session, user_id)


def appointment_fields(platform, session, appointments) -> dict[int, dict]:
    """``{appointment_id: fields}`` (:data:`APPOINTMENT_FIELDS`) for the appointments API.

    Each appointment gets the fields of its owner's target (else of the first handler that
    knows it); an appointment no handler knows gets them all as None.
    """
    ids = [a.id for a in appointments]
    found: dict[int, dict] = {}
    handlers = [spec for spec in capable(platform) if spec.sync.appointment_fields is not None]
    answers = {spec.key: spec.sync.appointment_fields(platform, session, ids) or {} for spec in handlers}
    targets: dict[int, str | None] = {}
    for appointment in appointments:
        owner = appointment.owner_user_id
        if owner not in targets:
            chosen = target(platform, session, owner)
            targets[owner] = chosen.key if chosen else None
        order = sorted(handlers, key=lambda spec: spec.key != targets[owner])
        fields = next((answers[spec.key][appointment.id] for spec in order if appointment.id in answers[spec.key]),
                      {})
        found[appointment.id] = {name: fields.get(name) for name in APPOINTMENT_FIELDS}
    return found
