"""Agent tools over HTTP: ``GET /api/v1/tools`` and ``POST /api/v1/tools/<name>/invoke``."""
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.api.schemas import object_body
from core.auth import current_user
from core.db import get_session
from voice_tools.dispatcher import ToolCall, invoke
from core.i18n import current_locale, normalize
from voice_tools.session import agent_setup_json

blp = Blueprint("tools", __name__, url_prefix="/api/v1/tools",
                description="The tools this user's agent may call, and running one of them.")


LOCALE_HELP = "fr or en; default: the user's saved language, else the Accept-Language header, else fr"


class AgentSetupSchema(Schema):
    model = fields.String(metadata={"description": "OPENAI_REALTIME_MODEL"})
    voice = fields.String()
    locale = fields.String()
    instructions = fields.String(metadata={"description": "Donna's prompt for this user"})
    tools = fields.List(fields.Dict(), metadata={"description": "Function tools: {type, name, description, "
                                                                "parameters} (strict JSON Schema)"})


class ToolResultSchema(Schema):
    ok = fields.Boolean()
    result = fields.Raw(metadata={"description": "What the tool returned (when ok)"})
    error = fields.Dict(metadata={"description": "{code, message, field?, authorization_url?, retry_after?}"})


def tool_call() -> ToolCall:
    """The signed-in user's :class:`ToolCall` for this request."""
    return ToolCall(current_app.extensions, get_session, current_user())


def request_locale(explicit: str | None = None) -> str:
    """``fr`` or ``en`` from ``explicit`` (a ``locale`` field or query argument), else the request's locale."""
    return normalize(explicit or request.args.get("locale")) or current_locale()


@blp.route("")
class Tools(MethodView):
    @blp.doc(parameters=[{"in": "query", "name": "locale", "required": False, "schema": {"type": "string"},
                          "description": LOCALE_HELP}])
    @blp.response(200, AgentSetupSchema)
    def get(self):
        """The model, voice, instructions and function tools of this user's agent.

        A browser agent mirrors all of them (its SDK sends its own ``session.update``).
        """
        # The setup is serialized once per (active connectors, locale, day) and shared.
        body = agent_setup_json(tool_call(), request_locale())
        return current_app.response_class(body, mimetype="application/json")


@blp.route("/<name>/invoke")
class ToolInvoke(MethodView):
    @blp.response(200, ToolResultSchema)
    @blp.doc(requestBody=object_body("The tool's arguments (none: no body)", required=False))
    def post(self, name):
        """Run tool ``name`` with the JSON body as its arguments; errors come back as ``ok: false``."""
        arguments = request.get_json(silent=True) if request.get_data() else {}
        # The schema documents the result; dumping it through marshmallow would only copy it.
        return current_app.json.response(invoke(tool_call(), name, arguments))
