"""Google Calendar connector: OAuth with minimal scopes, the user's calendars, sync settings, agent actions."""
from pathlib import Path

from core import ConfigField, ConnectorSpec, QuotaSpec, SyncCapability, hookimpl
from plugins import google
from plugins.google_calendar import (actions, busy, busy_channels, calendars, change_routes, changes, channels, compat,
                                     links, sync, sync_routes)
from plugins.google_calendar.models import CalendarEventLink

SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    busy.FREEBUSY_SCOPE,
)

#: Without busy times Cassius still syncs: a user may untick that permission.
OAUTH = google.oauth_spec(*SCOPES, optional=(busy.FREEBUSY_SCOPE,))

CONNECTOR = ConnectorSpec(
    key="google_calendar",
    name="Google Calendar",
    kind="oauth2",
    provider="google",
    icon=Path(__file__).parent / "icon.svg",
    description="Appointments appear, move and disappear in the Google Calendar you choose.",
    oauth=OAUTH,
    fetch_account=calendars.primary_calendar_id,
    settings=(
        ConfigField("calendar_id", "Calendar", required=False, default="primary", options_from="calendars",
                    help="Where appointments go; 'primary' is your main calendar."),
        ConfigField("sync_enabled", "Sync appointments", type="boolean", required=False, default=True),
        ConfigField("busy_calendar_ids", "Also count as busy", type="list", required=False, default=(),
                    options_from="calendars?access=busy",
                    help="Other calendars whose events make you busy when booking (at most 9)."),
    ),
    check_settings=calendars.check_settings,
    actions=actions.ACTIONS,
    quotas=(
        QuotaSpec("user", "GOOGLE_CALENDAR_QUOTA_USER_PER_MIN", 600, per_user=True,
                  description="Calendar requests per user per minute, shared by all workers"),
        QuotaSpec("project", "GOOGLE_CALENDAR_QUOTA_PROJECT_PER_MIN", 10000,
                  description="Calendar requests per minute for the whole project"),
    ),
    sync=SyncCapability(
        changed=sync.changed, start=sync.start, stop=sync.stop, reconcile=sync.reconcile,
        details=lambda platform, session, user_id: {**CalendarEventLink.status_details(session, user_id),
                                                    **busy.status_details(session, user_id)},
        appointment_fields=links.appointment_fields, statuses=(changes.CHANGED,),
    ),
)


@hookimpl
def register_connectors():
    """Declare the google_calendar connector."""
    return [CONNECTOR]


@hookimpl
def register_routes():
    """Mount the calendars, sync-now, notifications and changes routes under
    /api/v1/connectors/google_calendar/, and the Cassius front end's aliases at their own prefix,
    /api/integrations/google/."""
    return [("google_calendar", calendars.blp), ("google_calendar", sync_routes.blp),
            ("google_calendar", change_routes.blp), ("google_calendar", compat.blp)]


@hookimpl
def register_migrations():
    """The calendar_event_links table's revisions (branch ``google_calendar``)."""
    return [Path(__file__).parent / "migrations"]


@hookimpl
def check_configuration(platform):
    """In production, Google Calendar needs Google's client (``GOOGLE_CLIENT_ID`` / ``_SECRET``)."""
    return google.client_problems(platform, CONNECTOR.key)


@hookimpl
def metrics(session):
    """Pending links and sync lag (age of the oldest change that could sync now) for /metrics."""
    return links.gauges(session)


@hookimpl
def handle_event(event, session):
    """A calendar switch re-places every link; connecting, switching calendars or sync, ticking busy
    calendars and disconnecting open, replace or forget the push channels."""
    if event.data.get("connector") != links.KEY:
        return
    if event.name == "connector.settings_changed":
        sync.settings_changed(event, session)
    channels.connection_changed(event, session)
    busy_channels.connection_changed(event, session)


@hookimpl
def busy_intervals(user_id, start, end):
    """The user's busy times in their sync target and "count as busy" calendars (freebusy, cached)."""
    return busy.busy_intervals(user_id, start, end)


@hookimpl
def before_disconnect(connector, user_id, session):
    """Stop the user's push channels while the grant still allows it."""
    if connector == "google_calendar":
        channels.stop_now(session, user_id)
        busy_channels.stop_now(session, user_id)
