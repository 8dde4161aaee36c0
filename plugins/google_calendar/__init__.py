"""Google Calendar connector: OAuth with minimal scopes, the user's calendars, sync settings, agent actions."""
from pathlib import Path

from core import ConfigField, ConnectorSpec, QuotaSpec, SyncCapability, google, hookimpl
from plugins.google_calendar import actions, calendars, links, sync, sync_routes

SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)

OAUTH = google.oauth_spec(*SCOPES)

CONNECTOR = ConnectorSpec(
    key="google_calendar",
    name="Google Calendar",
    kind="oauth2",
    provider="google",
    icon="/static/icons/google_calendar.svg",
    description="Appointments appear, move and disappear in the Google Calendar you choose.",
    oauth=OAUTH,
    fetch_account=calendars.primary_calendar_id,
    settings=(
        ConfigField("calendar_id", "Calendar", required=False, default="primary",
                    help="Where appointments go; 'primary' is your main calendar."),
        ConfigField("sync_enabled", "Sync appointments", type="boolean", required=False, default=True),
    ),
    actions=actions.ACTIONS,
    quotas=(
        QuotaSpec("user", "GOOGLE_CALENDAR_QUOTA_USER_PER_MIN", 600, per_user=True,
                  description="Calendar requests per user per minute, shared by all workers"),
        QuotaSpec("project", "GOOGLE_CALENDAR_QUOTA_PROJECT_PER_MIN", 10000,
                  description="Calendar requests per minute for the whole project"),
    ),
    sync=SyncCapability(
        changed=sync.changed, start=sync.start, stop=sync.stop, reconcile=sync.reconcile,
        details=lambda platform, session, user_id: links.status_details(session, user_id),
        appointment_fields=links.appointment_fields,
    ),
)


@hookimpl
def register_connectors():
    """Declare the google_calendar connector."""
    return [CONNECTOR]


@hookimpl
def register_routes():
    """Mount the calendars and sync-now routes under /api/v1/connectors/google_calendar/."""
    return [("google_calendar", calendars.blp), ("google_calendar", sync_routes.blp)]


@hookimpl
def register_migrations():
    """The calendar_event_links table's revisions (branch ``google_calendar``)."""
    return [Path(__file__).parent / "migrations"]


@hookimpl
def handle_event(event, session):
    """Another calendar chosen in the settings re-places every link and clears a calendar error."""
    if event.name == "connector.settings_changed" and event.data.get("connector") == links.KEY:
        sync.settings_changed(event, session)
