"""Generic connector routes: the grid, status, OAuth redirect/callback, config, settings, revoke."""
from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from flask import current_app, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from core import connections
from core.api.forms import schema_for
from core.api.schemas import (AuthorizationUrlSchema, ConnectorSchema, RedirectArgsSchema,
                              RevokeResultSchema, object_body)
from core.auth import current_user
from core.db import get_session
from core.errors import ConnectorError
from core.oauth import flow
from core.oauth.provider import resolve
from core.i18n import _

log = logging.getLogger(__name__)

blp = Blueprint("connectors", __name__, url_prefix="/api/v1/connectors",
                description="Connect, inspect, configure and disconnect a user's connectors.")


def services():
    """The app's registry, credentials store, cipher and config."""
    ext = current_app.extensions
    return ext["connectors.registry"], ext["connectors.credentials"], ext["connectors.cipher"], ext["connectors.config"]


def connector_or_404(key: str):
    """The declaration of ``key``, or a 404 naming the installed connectors."""
    spec = services()[0].connector(key)
    if spec is None:
        abort(404, message=_("No connector “%(key)s” is installed.", key=key))
    return spec


def status_of(spec) -> dict:
    """This user's status for ``spec``."""
    return statuses([spec])[0]


def statuses(specs) -> list[dict]:
    """This user's status for each of ``specs``, from one read of their rows."""
    registry, credentials, _cipher, config = services()
    session = get_session()
    links, creds = connections.user_rows(session, current_user().id)
    return [connections.describe(spec, links.get(spec.key), creds.get(spec.key), config, credentials, session,
                                 registry) for spec in specs]


#: OpenAPI links from a connector's status to the operations on that connector (for clients and
#: for stateful testing).
CONNECTOR_LINKS = {name: {"operationId": operation, "parameters": {"key": "$response.body#/key"}}
                   for name, operation in (("StartOAuth", "startOAuth"), ("Configure", "configureConnector"),
                                           ("ChangeSettings", "changeConnectorSettings"),
                                           ("Revoke", "revokeConnector"))}
#: The ``Location`` header of a redirect, documented.
LOCATION = {"Location": {"description": "Where the browser goes next", "schema": {"type": "string"}}}


@blp.route("")
class ConnectorGrid(MethodView):
    @blp.response(200, ConnectorSchema(many=True))
    @blp.doc(responses={"200": {"links": {"GetFirstConnector": {
        "operationId": "getConnector", "parameters": {"key": "$response.body#/0/key"}}}}})
    def get(self):
        """Every installed connector with its kind, scopes or fields, and this user's status."""
        return statuses(sorted(services()[0].connectors.values(), key=lambda s: s.name))


@blp.route("/<key>")
class ConnectorStatus(MethodView):
    @blp.response(200, ConnectorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="getConnector", responses={"200": {"links": CONNECTOR_LINKS}})
    def get(self, key):
        """One connector's status for this user."""
        return status_of(connector_or_404(key))


@blp.route("/<key>/redirect")
class ConnectorRedirect(MethodView):
    @blp.arguments(RedirectArgsSchema, location="query")
    @blp.response(200, AuthorizationUrlSchema)
    @blp.alt_response(302, description="Redirect to the provider's consent page", headers=LOCATION)
    @blp.alt_response(400, response="BAD_REQUEST", description="A config connector: it is not connected through OAuth")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="startOAuth")
    def get(self, args, key):
        """Start OAuth: 302 to the provider, or ``{"authorization_url"}`` for ``Accept: application/json``."""
        return start_oauth(key, args.get("return_to"), args.get("scopes"))


def start_oauth(key: str, return_to: str | None, scopes: str | None = None):
    """Begin the authorization-code flow for ``key`` and answer as the client prefers.

    ``scopes`` (space-separated, declared by the connector) asks only for those, added to the
    user's earlier grant, when the connector's provider supports incremental authorization.
    """
    spec = connector_or_404(key)
    if spec.kind != "oauth2":
        abort(400, message=_("%(name)s is set up with a form, not by signing in.", name=spec.name))
    asked = tuple(dict.fromkeys((scopes or "").split())) or None
    if asked:
        unknown = [scope for scope in asked if scope not in spec.oauth.scopes]
        if unknown:
            abort(422, message=_("Ask only for scopes %(name)s declares.", name=spec.name),
                  errors={"query": {"scopes": unknown}})
        if not spec.oauth.incremental_params:
            abort(400, message=_("%(name)s cannot add permissions to a connection: connect again.", name=spec.name))
    cipher, config = services()[2:]
    missing = connections.missing_variables(spec, config)
    if missing:
        log.warning("%s cannot connect until the operator sets %s", key, ", ".join(missing))
        abort(503, message=_("%(name)s is not available yet: ask your administrator to set it up.", name=spec.name))
    session = get_session()
    started = flow.start(session, cipher, config, spec, current_user().id,
                         request.cookies.get(flow.BROWSER_COOKIE), return_to, asked)
    session.commit()
    wants_json = request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    response = (current_app.json.response({"authorization_url": started.authorization_url}) if wants_json
                else redirect(started.authorization_url, 302))
    response.set_cookie(flow.BROWSER_COOKIE, started.browser_secret, max_age=int(flow.STATE_TTL.total_seconds()),
                        httponly=True, samesite="Lax", secure=config.backend_url.startswith("https"), path="/")
    return response


@blp.route("/<key>/callback")
class ConnectorCallback(MethodView):
    public = True  # the provider sends the browser here; the single-use state says who it is

    @blp.alt_response(302, description="Redirect to FRONTEND_URL/connectors/callback/<key>", headers=LOCATION)
    @blp.doc(security=[])
    def get(self, key):
        """The provider returns here: check state, exchange the code, store tokens, redirect to the front end."""
        return finish_oauth(key)


def finish_oauth(key: str):
    """Finish the flow for the callback of ``key`` and redirect the browser to the front end."""
    registry, credentials, cipher, config = services()
    session = get_session()
    try:
        done = flow.finish(session, cipher, config, registry, key, request.args,
                           request.cookies.get(flow.BROWSER_COOKIE))
        spec = registry.connector(done.connector)
        provider = resolve(spec, config)
        account = spec.fetch_account(done.token, provider.api_root) if spec.fetch_account else None
        credentials.save_tokens(session, done.user_id, spec, done.token)
        user = _user(session, done.user_id)
        connections.activate(session, registry, user, spec, account)
        session.commit()
    except flow.FlowError as exc:
        session.rollback()
        log.info("OAuth callback for %s failed: %s (%s)", key, exc.code, exc.detail or exc.code)
        return _front_end(config, exc.connector or key, {"status": "error", "error": exc.code})
    except ConnectorError as exc:
        session.rollback()
        log.warning("OAuth callback for %s failed reading the account: %s", key, exc.code)
        return _front_end(config, key, {"status": "error", "error": "account_lookup_failed"})
    params = {"status": "success"}
    if done.return_path:
        params["return_to"] = done.return_path
    return _front_end(config, done.connector, params)


def _user(session, user_id):
    from core.auth import CurrentUser
    from core.models import User

    row = session.get(User, user_id)
    return CurrentUser(row.id, row.org_id, row.external_id)


def _front_end(config, key, params):
    """Redirect to the front end's callback page of ``key`` (quoted: the key may come from the URL)."""
    return redirect(f"{config.frontend_url}/connectors/callback/{quote(key, safe='')}?{urlencode(params)}", 302)


@blp.route("/<key>/config")
class ConnectorConfig(MethodView):
    @blp.response(200, ConnectorSchema)
    @blp.alt_response(400, response="BAD_REQUEST", description="An OAuth connector: it has no config")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="configureConnector", requestBody=object_body("The connector's fields (see `fields`)"))
    def post(self, key):
        """Config connectors: validate the values against the service for real, store them encrypted, activate."""
        spec = connector_or_404(key)
        if spec.kind != "config":
            abort(400, message=_("%(name)s connects by signing in to it, not with a form.", name=spec.name))
        values = load_body(spec.fields)
        account = spec.validate(values)
        registry, credentials = services()[:2]
        session = get_session()
        credentials.save_config(session, current_user().id, spec, values)
        connections.activate(session, registry, current_user(), spec, account)
        session.commit()
        return status_of(spec)


@blp.route("/<key>/settings")
class ConnectorSettings(MethodView):
    @blp.response(200, ConnectorSchema)
    @blp.alt_response(400, response="BAD_REQUEST", description="The connector has no settings")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="changeConnectorSettings",
             requestBody=object_body("Settings to change (see `settings_fields`)"))
    def patch(self, key):
        """Change this user's settings of a connector (e.g. ``calendar_id``, ``sync_enabled``)."""
        spec = connector_or_404(key)
        if not spec.settings:
            abort(400, message=_("%(name)s has no settings.", name=spec.name))
        changes = load_body(spec.settings, partial=True)
        registry = services()[0]
        session = get_session()
        if spec.check_settings is not None:
            problems = spec.check_settings(registry.platform, session, current_user().id, changes)
            if problems:
                abort(422, message=_("Some fields are invalid."), errors={"json": problems})
        connections.update_settings(session, registry, current_user(), spec, changes)
        session.commit()
        return status_of(spec)


@blp.route("/<key>/revoke")
class ConnectorRevoke(MethodView):
    @blp.response(200, RevokeResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(operationId="revokeConnector")
    def post(self, key):
        """Revoke at the provider where possible, purge the credentials, and deactivate."""
        spec = connector_or_404(key)
        registry, credentials, _cipher, config = services()
        session = get_session()
        revoked = connections.disconnect(session, registry, credentials, config, current_user(), spec)
        session.commit()
        return {"revoked_at_provider": revoked, "connector": status_of(spec)}


def load_body(declared, partial: bool = False) -> dict:
    """Validate the JSON body against ``declared`` fields; a 422 names each bad field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, message=_("Send a JSON object."), errors={"json": [_("Expected a JSON object.")]})
    try:
        values = schema_for(declared, partial=partial).load(body, partial=partial)
    except ValidationError as exc:
        abort(422, message=_("Some fields are invalid."), errors={"json": exc.messages})
    if partial and not values:
        abort(422, message=_("Nothing to change."), errors={"json": {"_schema": [_("Send at least one field.")]}})
    return values
