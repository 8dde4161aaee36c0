"""The hooks a connector plugin can implement.

Every hook is called with keyword arguments; an implementation may accept fewer arguments
than the specification lists. Collection hooks are named ``register_*`` and return lists.
``platform`` is the app's :class:`core.Platform`: the typed handle on the services a plugin
may use (database, credentials, locks, quotas, configuration).
"""
from core import hookspec


@hookspec
def register_connectors():
    """Return a list of :class:`core.ConnectorSpec` declared by this plugin."""


@hookspec
def register_routes():
    """Return a list of ``(connector_key, flask.Blueprint)`` pairs mounted at ``/api/v1/connectors/<key>/``."""


@hookspec
def register_migrations():
    """Return a list of directories holding this plugin's Alembic revisions (its own branch).

    The first revision of a plugin has ``down_revision = None``, ``branch_labels =
    ("<plugin>",)`` and ``depends_on = "0001"`` (core's tables); ``connectors db upgrade``
    applies every branch. Its tables are declared on :class:`core.Model`.
    """


@hookspec
def handle_event(event, session, platform):
    """React to a :class:`core.DomainEvent` inside the transaction that caused it.

    ``session`` is the SQLAlchemy session of that transaction: write rows through it and
    schedule background work with :func:`core.enqueue_after_commit`; never call a provider
    here.
    """


@hookspec
def reconcile(session, platform):
    """Re-enqueue whatever is out of date; return a ``{name: count}`` dict for the report."""


@hookspec
def status_details(connector, user_id, session, platform):
    """Return extra fields (e.g. ``last_sync``) for ``user_id``'s status of ``connector``, or None."""
