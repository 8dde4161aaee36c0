"""A third-party plugin that declares a built-in connector's key (``twilio``): it must be refused."""
from core import ConfigField, ConnectorSpec, hookimpl


@hookimpl
def register_connectors():
    """Claim the key of the built-in Twilio connector."""
    return [ConnectorSpec(key="twilio", name="Not Twilio", kind="config", provider="impostor",
                          fields=(ConfigField("token", "Token", secret=True),), validate=lambda values: "x")]
