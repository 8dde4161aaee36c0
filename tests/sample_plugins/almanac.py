"""A config connector whose actions misbehave the ways a plugin can: dates, an object JSON cannot
carry, a plain ConnectorError saying the credentials stopped working."""
from datetime import UTC, date, datetime

from core import Action, ConfigField, ConnectorError, ConnectorSpec, hookimpl


def observed(ctx):
    """When the last observation was made: a datetime and a date, as a plugin returns them."""
    return {"at": datetime(2030, 5, 1, 9, 30, tzinfo=UTC), "day": date(2030, 5, 1), "naive": datetime(2030, 5, 1, 9, 30)}


def station(ctx):
    """A plugin bug: an object JSON cannot carry."""
    return {"station": object()}


def alerts(ctx):
    """The service stopped accepting the key, said with a plain ConnectorError and a code."""
    raise ConnectorError("The almanac no longer accepts this API key.", code="needs_reauth")


CONNECTOR = ConnectorSpec(
    key="almanac", name="Almanac", kind="config", provider="almanac",
    fields=(ConfigField("api_key", "API key", secret=True),),
    validate=lambda values: "almanac account",
    actions=(Action("observed", "When the last observation was made.", observed),
             Action("station", "The weather station.", station),
             Action("alerts", "Weather alerts.", alerts)),
)


@hookimpl
def register_connectors():
    return [CONNECTOR]
