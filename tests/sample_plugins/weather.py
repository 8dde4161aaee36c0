"""A third-party style connector: one config field, one action, one route."""
from datetime import UTC, date, datetime

from flask import Blueprint

from core import (Action, ActionParam, ConfigField, ConnectorError, ConnectorSpec, ConnectorValidationError, hookimpl,
                  public)

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


def observed(ctx):
    """When the last observation was made: a datetime and a date, as a plugin returns them."""
    return {"at": datetime(2030, 5, 1, 9, 30, tzinfo=UTC), "day": date(2030, 5, 1), "naive": datetime(2030, 5, 1, 9, 30)}


def station(ctx):
    """A plugin bug: an object JSON cannot carry."""
    return {"station": object()}


def alerts(ctx):
    """The service stopped accepting the key, said with a plain ConnectorError and a code."""
    raise ConnectorError("The weather service no longer accepts this API key.", code="needs_reauth")


CONNECTOR = ConnectorSpec(
    key="weather", name="Weather", kind="config", provider="weather",
    description="Forecasts for your appointments.",
    fields=(ConfigField("api_key", "API key", secret=True),),
    validate=validate,
    actions=(Action("forecast", "Forecast for a city.", forecast,
                    (ActionParam("city", "string", "City name"),
                     ActionParam("days", "integer", "How many days", required=False))),
             Action("observed", "When the last observation was made.", observed),
             Action("station", "The weather station.", station),
             Action("alerts", "Weather alerts.", alerts)),
)


@hookimpl
def register_connectors():
    return [CONNECTOR]


@hookimpl
def register_routes():
    return [("weather", blp)]
