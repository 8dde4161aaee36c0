"""Who may change what: the one rule for acting on another member's appointments.

Reads are organization-wide; a write (create for someone, change, cancel) is allowed to the
appointment's owner and to members whose session token carries one of the roles named by
``APPOINTMENT_WRITE_ROLES`` in its ``JWT_ROLE_CLAIM`` claim. The HTTP API, the dashboard
(through the ``can_edit`` flag of each appointment) and the agent's tools all ask
:func:`may_write_for`, so they cannot disagree.
"""
from __future__ import annotations

from flask import current_app


def may_write_for(user, owner_user_id: int, write_roles: frozenset[str] | None = None) -> bool:
    """Whether ``user`` (a :class:`core.auth.CurrentUser`) may change what belongs to ``owner_user_id``
    of the same organization: the owner always, anyone else only with one of ``write_roles``
    (default: the running app's ``APPOINTMENT_WRITE_ROLES``). The caller checks the organization."""
    if user.id == owner_user_id:
        return True
    if write_roles is None:
        write_roles = current_app.extensions["connectors.config"].appointment_write_roles
    return bool(user.roles & write_roles)
