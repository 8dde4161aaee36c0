"""A plugin whose ``before_disconnect`` raises, with a secret in the exception's message."""
from core import hookimpl

SECRET = "ya29.secret-token-in-the-message"


@hookimpl
def before_disconnect(connector, user_id):
    """Fail the way a buggy plugin does, naming a token in its error."""
    raise RuntimeError(f"could not stop the channel with token {SECRET}")
