"""Domain events: what happened, to whom, passed to every plugin's ``handle_event`` hook."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENT_NAMES = (
    "appointment.created",
    "appointment.updated",
    "appointment.cancelled",
    "connector.connected",
    "connector.settings_changed",
    "connector.revoked",
)


@dataclass(frozen=True)
class DomainEvent:
    """An event name, the user it concerns, and details (ids only, never secrets)."""

    name: str
    user_id: int
    org_id: str
    data: dict[str, Any] = field(default_factory=dict)


def emit(registry, session, event: DomainEvent) -> None:
    """Hand ``event`` to every plugin's ``handle_event`` hook within ``session``'s transaction."""
    if event.name not in EVENT_NAMES:
        raise ValueError(f"unknown event {event.name!r}")
    registry.hook.handle_event(event=event, session=session, platform=registry.platform)
