"""Keep OAuth codes, states and tokens out of request logs."""
from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"((?:^|[?&\s])(?:code|state|token|access_token|refresh_token|client_secret)=)[^&\s\"]+")


def redact(text: str) -> str:
    """Replace the values of secret-bearing query parameters in ``text``."""
    return _SECRET_PARAMS.sub(r"\1[redacted]", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secret query parameters from a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines (werkzeug, gunicorn)."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
