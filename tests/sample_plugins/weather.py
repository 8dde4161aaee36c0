"""A third-party style connector: one config field, one action, one route."""
from flask import Blueprint

from core import Action, ActionParam, ConfigField, ConnectorSpec, ConnectorValidationError, hookimpl, public

blp = Blueprint("weather", __name__)


@blp.get("/ping")
def ping():
    """A plugin route mounted under /api/v1/connectors/weather/."""
    return {"pong": True}


@blp.get("/callback")
@blp.get("/openapi.json")
def looks_public():
    """Paths that once skipped the session check by their suffix: they need one like any other."""
    return {"private": True}


@blp.get("/hook")
@public
def hook():
    """A route the plugin declares public (a webhook checking its own token, say)."""
    return {"public": True}


def validate(values):
    """Accept any key except 'bad'."""
    if values["api_key"] == "bad":
        raise ConnectorValidationError("The weather service refused this API key.", field="api_key")
    return "weather account"


def forecast(ctx, city, days=None):
    """Return a canned forecast for ``city``."""
    return {"city": city, "days": days or 1, "sky": "clear"}


CONNECTOR = ConnectorSpec(
    key="weather", name="Weather", kind="config", provider="weather",
    description="Forecasts for your appointments.",
    fields=(ConfigField("api_key", "API key", secret=True),),
    validate=validate,
    actions=(Action("forecast", "Forecast for a city.", forecast,
                    (ActionParam("city", "string", "City name"),
                     ActionParam("days", "integer", "How many days", required=False))),),
)


@hookimpl
def register_connectors():
    return [CONNECTOR]


@hookimpl
def register_routes():
    return [("weather", blp)]
