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
    """Return a list of ``(connector_key, flask.Blueprint)`` pairs mounted at ``/api/v1/connectors/<key>/``.

    A blueprint made with its own ``url_prefix`` (an absolute path outside ``/api/v1``, e.g.
    compatibility aliases) is mounted there instead.
    """


@hookspec
def register_migrations():
    """Return a list of directories holding this plugin's Alembic revisions (its own branch).

    The first revision of a plugin has ``down_revision = None``, ``branch_labels =
    ("<plugin>",)`` and ``depends_on = "0001"`` (core's tables); ``connectors db upgrade``
    applies every branch. Its tables are declared on :class:`core.Model`.
    """


@hookspec
def check_configuration(platform):
    """Return the problems that must stop start-up (e.g. a client id missing in production), or None.

    Core raises :class:`core.ConfigError` with every plugin's problems joined; a plugin
    decides what it cannot run without (``platform.config.is_production`` says where it runs).
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
def metrics(session, platform):
    """Return gauges measured now for ``GET /metrics``: a list of ``(name, help, value)``.

    Each becomes the Prometheus gauge ``connectors_<name>``; measure across every user (never one
    series per user or organization) with ``session``.
    """


@hookspec
def status_details(connector, user_id, session, platform):
    """Return extra fields (e.g. ``last_sync``) for ``user_id``'s status of ``connector``, or None."""


@hookspec
def busy_intervals(user_id, start, end, platform):
    """Return a :class:`core.BusyTimes` of ``user_id``'s busy times in ``[start, end)``, or None.

    ``start`` and ``end`` are timezone-aware datetimes. Answer with instants only (never
    titles or attendees), from a cache where possible: this is called by
    ``GET /api/v1/availability`` and before every appointment is created or moved. Answer
    None for a user who has not connected the plugin's connector; set ``notice`` when the
    answer is incomplete (e.g. ``reconnect_required``).
    """


@hookspec
def before_disconnect(connector, user_id, session, platform):
    """Called when ``user_id`` disconnects ``connector``, before its grant is revoked and its credentials purged.

    The one hook that may call the provider as the user, for the last time: stop a push
    subscription, say. Keep it short (it runs inside the disconnect request) and do not raise:
    an exception is logged (its type, not its message) and the disconnect goes on.
    """
