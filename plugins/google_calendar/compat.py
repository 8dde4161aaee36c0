"""Aliases kept for the existing Cassius front end: ``/api/integrations/google/*``.

Each alias answers exactly as the ``/api/v1`` route it names, by dispatching to that
route's view, so the two can never drift apart.
"""
from flask import Blueprint, current_app, request
from flask_smorest import abort
from werkzeug.exceptions import MethodNotAllowed, NotFound

from core import gettext as _
from core import public

blp = Blueprint("cassius_compat", __name__, url_prefix="/api/integrations/google")

ALIASES = {
    "connect": (("GET",), "/api/v1/connectors/google_calendar/redirect"),
    "callback": (("GET",), "/api/v1/connectors/google_calendar/callback"),
    "status": (("GET",), "/api/v1/connectors/google_calendar"),
    "calendars": (("GET",), "/api/v1/connectors/google_calendar/calendars"),
    "disconnect": (("POST", "DELETE"), "/api/v1/connectors/google_calendar/revoke"),
    "sync-now": (("POST",), "/api/v1/connectors/google_calendar/sync-now"),
}


def _forward(name):
    target = ALIASES[name][1]
    adapter = current_app.url_map.bind("localhost")
    method = "POST" if request.method == "DELETE" else request.method
    try:
        endpoint, args = adapter.match(target, method=method)
    except (NotFound, MethodNotAllowed):
        abort(501, message=_("%(target)s is not available in this installation.", target=target))
    # ``DELETE …/disconnect`` runs the POST view: a class-based view dispatches on ``request.method``.
    request.method = method
    return current_app.view_functions[endpoint](**args)


#: The aliases of public views are public too (the provider sends the browser to ``callback``).
PUBLIC = ("callback",)

for _name, (_methods, _target) in ALIASES.items():
    _view = (lambda _n=_name: _forward(_n))
    blp.add_url_rule(f"/{_name}", f"alias_{_name.replace('-', '_')}",
                     public(_view) if _name in PUBLIC else _view, methods=list(_methods))
