"""Logs: one JSON object per line in production, each with the id of the request it serves.

The request id is the ``X-Request-ID`` header when it looks like one (letters, digits, ``._-``,
at most 64), else a new one; the response sends it back in ``X-Request-ID``. Work a request
causes carries it on: jobs enqueued during the request keep it (in RQ's job ``meta``, or in this
context in-process), so a sync's log lines point back at the change that started it.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid

from flask import request

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
HEADER = "X-Request-ID"
_PLAUSIBLE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class JSONFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, "exception"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(production: bool) -> None:
    """In production, log INFO and above to stderr as JSON (once per process)."""
    root = logging.getLogger()
    if not production or any(isinstance(h.formatter, JSONFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)


def init_app(app) -> None:
    """Give every request an id (kept in the context for its log lines and jobs) and echo it back."""
    app.before_request(_begin)
    app.after_request(_echo)
    app.teardown_request(_end)


def _begin():
    given = request.headers.get(HEADER, "")
    REQUEST_ID.set(given if _PLAUSIBLE.fullmatch(given) else uuid.uuid4().hex)


def _end(_error=None):
    REQUEST_ID.set(None)  # the thread serves other requests next: no stale id on their lines


def _echo(response):
    request_id = REQUEST_ID.get()
    if request_id:
        response.headers[HEADER] = request_id
    return response
