"""Third-party plugins whose connectors would name an OpenAPI component already named.

Keys and action names are snake_case, and a component's name is their PascalCase: each plugin
below is refused and reported, so the document never renames nor overwrites a component.
"""
from core import Action, ActionParam, ConfigField, ConnectorSpec, hookimpl


def echo(ctx, text):
    """Answer ``text``."""
    return {"text": text}


def spec(key: str, action: str | None = None, field: str = "token") -> ConnectorSpec:
    """A config connector ``key`` with one field and, when given, one action ``action``."""
    actions = (Action(action, "Echo.", echo, (ActionParam("text", "string", "Text"),)),) if action else ()
    return ConnectorSpec(key=key, name=key.title(), kind="config", provider=key,
                         fields=(ConfigField(field, field.title()),), validate=lambda values: key,
                         actions=actions)


class Fine:
    """Connector ``foo_1``: its ``Foo1Config`` is the first of that name."""

    @staticmethod
    @hookimpl
    def register_connectors():
        """Declare ``foo_1``."""
        return [spec("foo_1", field="first")]


class SameSpelling:
    """Connector ``foo1`` would also be ``Foo1Config``."""

    @staticmethod
    @hookimpl
    def register_connectors():
        """Declare ``foo1``."""
        return [spec("foo1", field="second")]


class CoreName:
    """Connector ``client``'s action ``secret`` would be core's ``ClientSecretArgs``."""

    @staticmethod
    @hookimpl
    def register_connectors():
        """Declare ``client``."""
        return [spec("client", "secret")]


class BuiltInName:
    """Connector ``slack_post``'s action ``message`` would be Slack's ``SlackPostMessageArgs``."""

    @staticmethod
    @hookimpl
    def register_connectors():
        """Declare ``slack_post``."""
        return [spec("slack_post", "message")]


class Twins:
    """Connector ``tide``'s actions ``high_1`` and ``high1`` would both be ``TideHigh1Args``."""

    @staticmethod
    @hookimpl
    def register_connectors():
        """Declare ``tide``."""
        return [ConnectorSpec(key="tide", name="Tide", kind="config", provider="tide",
                              fields=(ConfigField("token", "Token"),), validate=lambda values: "tide",
                              actions=(Action("high_1", "Echo.", echo, (ActionParam("text", "string", "Text"),)),
                                       Action("high1", "Echo.", echo, (ActionParam("text", "string", "Text"),))))]
