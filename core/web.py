"""The dashboard: the single page served at ``/``, the OAuth landing page, and development sign-in.

``GET /`` renders the page; everything on it talks to the JSON API with the ``session``
cookie. ``POST /dev/session`` mints that cookie for a typed user and organization so the
dashboard can be used without the host application; it and ``POST /dev/logout`` answer a
JSON 404 in production, where the host application sets the cookie.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_file
from flask_smorest import abort

from core.auth import AuthError, mint_token
from core.connections import ICON_TYPES, icon_file, icon_url
from core.oauth.flow import safe_return_path

bp = Blueprint("web", __name__, template_folder="templates")

#: Lifetime of a development session (cookie and token), in seconds.
DEV_SESSION_TTL = 8 * 3600
#: The longest user id or organization the development sign-in accepts.
MAX_IDENTITY_LENGTH = 128

#: What the callback page says for the ``error`` codes the OAuth callback sends.
CALLBACK_ERRORS = {
    "access_denied": "You declined the request on the provider's consent screen.",
    "invalid_state": "The sign-in link is not valid. Start again from the dashboard.",
    "state_used": "This sign-in link was already used. Start again from the dashboard.",
    "state_expired": "The sign-in took too long. Start again from the dashboard.",
    "browser_mismatch": "Finish the sign-in in the browser that started it.",
    "connector_mismatch": "This sign-in was started for another connector.",
    "issuer_mismatch": "The answer came from an unexpected issuer.",
    "exchange_failed": "The provider refused or could not complete the sign-in. Try again.",
    "insufficient_scope": "Some permissions were not granted. Connect again and keep every box ticked.",
    "account_lookup_failed": "Connected, but the account could not be read. Try again.",
}

#: Headers on every page of the dashboard: scripts and styles from this origin only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "connect-src 'self' https://api.openai.com; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _config():
    return current_app.extensions["connectors.config"]


def _page(template: str, **context):
    response = current_app.make_response(render_template(template, **context))
    response.headers.update(SECURITY_HEADERS)
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
        abort(404, message="Development sign-in is off in production: sign in through your application.")


@bp.get("/")
def dashboard():
    """The dashboard: sign-in (development), the connector grid, appointments and the voice orb."""
    config = _config()
    return _page("dashboard.html", identity=_signed_in(), app_env=config.app_env,
                 dev_signin=not config.is_production)


@bp.get("/connectors/callback/<key>")
def oauth_callback(key: str):
    """Where the OAuth callback sends the browser: say how it went, then go back to the grid."""
    registry = current_app.extensions["connectors.registry"]
    spec = registry.connector(key)
    status = "success" if request.args.get("status") == "success" else "error"
    error = request.args.get("error") or ("unknown" if status == "error" else None)
    back = safe_return_path(request.args.get("return_to"), _config().frontend_url) or "/"
    if status == "success" and back == "/":
        back = f"/?connected={key}"
    return _page("callback.html", key=key, name=spec.name if spec else key, status=status, error=error,
                 icon=icon_url(spec),
                 message=CALLBACK_ERRORS.get(error, "The connection could not be completed. Try again."),
                 back=back)


@bp.get("/connectors/<key>/icon")
def connector_icon(key: str):
    """The icon file a connector's plugin ships in its package (public, cached for a day)."""
    path = icon_file(current_app.extensions["connectors.registry"].connector(key))
    if path is None:
        abort(404, message=f"No icon for {key!r}.")
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
        abort(422, message="Send a JSON object with user and org.", errors={"json": ["Expected a JSON object."]})
    errors, values = {}, {}
    for name, label in (("user", "User id"), ("org", "Organization")):
        value = body.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            errors[name] = [f"{label} is required."]
        elif len(value) > MAX_IDENTITY_LENGTH:
            errors[name] = [f"{label} must be at most {MAX_IDENTITY_LENGTH} characters."]
        values[name] = value
    if errors:
        abort(422, message="Enter a user id and an organization.", errors={"json": errors})
    config = _config()
    token = mint_token(config, values["user"], values["org"], ttl=DEV_SESSION_TTL)
    response = current_app.json.response({**values, "expires_in": DEV_SESSION_TTL})
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
