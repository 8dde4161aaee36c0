"""The dashboard's pages: the grid at ``/``, one settings page per connector, the OAuth landing
page, and development sign-in.

``GET /`` renders the grid and appointments; ``GET /settings/integrations/<key>`` one connector's
settings (``<key>`` with ``-`` for ``_``). Everything on them talks to the JSON API
with the ``session`` cookie. ``POST /dev/session`` mints that cookie for a typed user and organization so the
dashboard can be used without the host application; it and ``POST /dev/logout`` answer a
JSON 404 in production, where the host application sets the cookie.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_file
from flask_smorest import abort
from sqlalchemy import select

from core.auth import AuthError, mint_token
from core.connections import ICON_TYPES, icon_file, icon_url
from core.db import get_session
from core.i18n import _, connector_words, current_locale, normalize, script_catalog
from core.models import User
from core.oauth import flow
from core.oauth.flow import safe_return_path

bp = Blueprint("web", __name__, template_folder="templates")

#: Lifetime of a development session (cookie and token), in seconds.
DEV_SESSION_TTL = 8 * 3600
#: The longest user id or organization the development sign-in accepts.
MAX_IDENTITY_LENGTH = 128

#: Headers on every page of the dashboard: scripts and styles from this origin only.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def content_security_policy(config, framed: bool = False) -> str:
    """Scripts and styles from this origin only; ``framed`` pages (a connector's settings) may be
    embedded by the front end at ``FRONTEND_URL``, the others by nobody."""
    connect = "'self' https://api.openai.com"
    if config.realtime_test_websocket_url:
        connect += " " + config.realtime_test_websocket_url
    ancestors = f"'self' {config.frontend_url}" if framed else "'none'"
    return ("default-src 'self'; script-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
            f"connect-src {connect}; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors {ancestors}; form-action 'self'")


def _config():
    return current_app.extensions["connectors.config"]


def _page(template: str, http_status: int = 200, framed: bool = False, **context):
    locale = current_locale()
    response = current_app.make_response((render_template(template, locale=locale, catalog=script_catalog(locale),
                                                          **context), http_status))
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = content_security_policy(_config(), framed)
    return response


def _signed_in() -> dict | None:
    """The user and organization of a valid ``session`` cookie, else ``None``."""
    token = request.cookies.get("session")
    if not token:
        return None
    verifier = current_app.extensions["connectors.verifier"]
    try:
        claims = verifier.verify(token)
    except AuthError:
        return None
    return {"user": claims["sub"], "org": str(claims[verifier.config.jwt_org_claim])}


def _dev_only():
    if _config().is_production:
        abort(404, message=_("Development sign-in is off in production: sign in through your application."))


@bp.get("/")
def dashboard():
    """The dashboard: sign-in (development), the connector grid, appointments and the voice orb."""
    config = _config()
    return _page("dashboard.html", identity=_signed_in(), app_env=config.app_env,
                 dev_signin=not config.is_production, realtime_url=config.realtime_test_websocket_url)


def settings_path(key: str) -> str:
    """The address of connector ``key``'s settings page (``some_key`` → ``…/some-key``)."""
    return f"/settings/integrations/{key.replace('_', '-')}"


@bp.get("/settings/integrations/<slug>")
def connector_settings(slug: str):
    """One connector's settings page: connect, account, settings, sync, disconnect."""
    key = slug.replace("-", "_")
    spec = current_app.extensions["connectors.registry"].connector(key)
    if spec is None:
        return _page("missing.html", http_status=404, identity=_signed_in(), app_env=_config().app_env,
                     dev_signin=not _config().is_production)
    config = _config()
    return _page("settings.html", framed=True, key=key, name=spec.name, description=connector_words(spec.description),
                 icon=icon_url(spec), identity=_signed_in(), app_env=config.app_env,
                 dev_signin=not config.is_production)


@bp.get("/connectors/callback/<key>")
def oauth_callback(key: str):
    """Where the OAuth callback sends the browser. An error is explained at once; a success is
    only claimed once the page has read the connection's real state from the API."""
    registry = current_app.extensions["connectors.registry"]
    spec = registry.connector(key)
    status = "checking" if request.args.get("status") == "success" else "error"
    error = request.args.get("error") or "unknown"
    back = safe_return_path(request.args.get("return_to"), _config().frontend_url) or settings_path(key)
    return _page("callback.html", key=key, name=spec.name if spec else key, status=status, error=error,
                 icon=icon_url(spec),
                 message=flow.message_for(error),
                 back=back)


@bp.get("/connectors/<key>/icon")
def connector_icon(key: str):
    """The icon file a connector's plugin ships in its package (public, cached for a day)."""
    path = icon_file(current_app.extensions["connectors.registry"].connector(key))
    if path is None:
        abort(404, message=_("No icon for “%(key)s”.", key=key))
    return send_file(path, mimetype=ICON_TYPES[path.suffix], max_age=86400)


@bp.post("/dev/session")
def dev_session():
    """Development sign-in: mint a session token for a typed user and org and set the cookie.

    Takes JSON ``{"user": "...", "org": "..."}`` (JSON only, so another site cannot post it
    from a form). Answers ``{"user", "org", "expires_in"}``.
    """
    _dev_only()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, message=_("Send a JSON object with user and org."), errors={"json": [_("Expected a JSON object.")]})
    errors, values = {}, {}
    for name, required, too_long in (
            ("user", _("Enter a user id."), _("A user id is at most %(n)d characters.", n=MAX_IDENTITY_LENGTH)),
            ("org", _("Enter an organization."), _("An organization is at most %(n)d characters.",
                                                     n=MAX_IDENTITY_LENGTH))):
        value = body.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            errors[name] = [required]
        elif len(value) > MAX_IDENTITY_LENGTH:
            errors[name] = [too_long]
        values[name] = value
    if errors:
        abort(422, message=_("Enter a user id and an organization."), errors={"json": errors})
    config = _config()
    token = mint_token(config, values["user"], values["org"], ttl=DEV_SESSION_TTL)
    saved = get_session().scalar(select(User.locale).where(User.org_id == values["org"],
                                                           User.external_id == values["user"]))
    response = current_app.json.response({**values, "expires_in": DEV_SESSION_TTL,
                                          "locale": normalize(saved) or current_locale()})
    response.set_cookie("session", token, max_age=DEV_SESSION_TTL, httponly=True, samesite="Lax",
                        secure=config.backend_url.startswith("https"), path="/")
    return response


@bp.post("/dev/logout")
def dev_logout():
    """Development sign-out: clear the ``session`` cookie."""
    _dev_only()
    response = current_app.json.response({"signed_out": True})
    response.delete_cookie("session", path="/", httponly=True, samesite="Lax")
    return response
