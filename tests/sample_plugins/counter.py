"""A plugin with only a ``reconcile`` hook, installed through an entry point in the tests."""
from core import hookimpl


@hookimpl
def reconcile(session):
    """Report a fixed count so the test can check the CLI sums plugin answers."""
    return {"counted": 2}
