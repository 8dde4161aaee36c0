"""CalDAV connector (RFC 4791): iCloud, Fastmail, Nextcloud, OVH, Zimbra… with an app-specific password.

The CalDAV exchanges live in :mod:`plugins.caldav.client` (login, discovery, calendars) and
:mod:`plugins.caldav.objects` (conditional writes); events are built in :mod:`plugins.caldav.ical`.
"""
from pathlib import Path

from core import (N_, ConfigField, ConnectorSpec, ConnectorValidationError, SyncCapability, hookimpl,
                  trying_credentials)
from plugins.caldav import actions, busy, calendars, client, sync


def validate(values: dict) -> str:
    """Log in and list the calendars for real; return ``username @ host``."""
    account = client.Account.from_values(values)
    with trying_credentials(client.REFUSED, field="password"):
        found = client.calendars(account)
    if not found:
        raise ConnectorValidationError(N_("This CalDAV account has no calendar; create one first."), field="url",
                                       reason="no_calendar")
    return account.label


SPEC = ConnectorSpec(
    key="caldav",
    name="CalDAV (iCloud, Fastmail, Nextcloud…)",
    kind="config",
    provider="caldav",
    description="Appointments appear, move and disappear in your iCloud, Fastmail, Nextcloud or other "
                "CalDAV calendar.",
    icon=Path(__file__).parent / "icon.svg",
    fields=(
        ConfigField("url", "Server address", type="url",
                    help="iCloud: https://caldav.icloud.com — Fastmail: https://caldav.fastmail.com/dav/ — "
                         "Nextcloud: https://<your server>/remote.php/dav"),
        ConfigField("username", "Username", help="Usually your email address (iCloud: your Apple ID)."),
        ConfigField("password", "App password", secret=True,
                    help="An app-specific password, not your main password: iCloud → appleid.apple.com → "
                         "App-Specific Passwords; Fastmail → Settings → Privacy & Security → App passwords; "
                         "Nextcloud → Settings → Security → Devices & sessions."),
    ),
    validate=validate,
    settings=(
        ConfigField("calendar_id", "Calendar", required=False, default="", options_from="calendars",
                    help="Where appointments go; until you choose, the account's first calendar."),
        ConfigField("sync_enabled", "Sync appointments", type="boolean", required=False, default=True),
    ),
    actions=actions.ACTIONS,
    quotas=sync.QUOTAS,
    sync=SyncCapability(changed=sync.changed, start=sync.start, stop=sync.stop, reconcile=sync.reconcile,
                        details=sync.details, appointment_fields=sync.appointment_fields),
)


@hookimpl
def register_connectors():
    """Declare the caldav connector."""
    return [SPEC]


@hookimpl
def register_routes():
    """Mount the calendars route under /api/v1/connectors/caldav/."""
    return [("caldav", calendars.blp)]


@hookimpl
def register_migrations():
    """The caldav_event_links table's revisions (branch ``caldav``)."""
    return [Path(__file__).parent / "migrations"]


@hookimpl
def handle_event(event, session, platform):
    """A calendar chosen in the settings clears a "calendar not found" error and the cached busy times."""
    if event.name == "connector.settings_changed" and event.data.get("connector") == SPEC.key:
        sync.settings_changed(platform, session, event)
        busy.forget(platform, event.user_id)


@hookimpl
def busy_intervals(user_id, start, end, platform):
    """The user's busy times in the CalDAV sync target (free-busy-query, else calendar-query; cached)."""
    return busy.busy_intervals(platform, user_id, start, end)
