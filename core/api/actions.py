"""One REST endpoint per connector action: ``POST /api/v1/connectors/<key>/actions/<name>``."""
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from core.actions import find_action, run_action
from core.api.connectors import connector_or_404
from core.api.schemas import object_body
from core.auth import current_user
from core.db import get_session
from core.i18n import _

blp = Blueprint("actions", __name__, url_prefix="/api/v1/connectors",
                description="Run a connector's actions as the signed-in user.")


@blp.route("/<key>/actions/<name>")
class ActionRun(MethodView):
    @blp.response(200)
    @blp.doc(requestBody=object_body("The action's arguments (none: no body)", required=False))
    def post(self, key, name):
        """Run action ``name`` of connector ``key`` with the JSON body as its arguments."""
        spec = connector_or_404(key)
        action = find_action(spec, name)
        if action is None:
            abort(404, message=_("%(name)s has no action “%(action)s”.", name=spec.name, action=name))
        arguments = request.get_json(silent=True) if request.data else {}
        result = run_action(get_session(), current_app.extensions, current_user(), spec, action, arguments)
        return {"result": result}
