"""What every API request and response goes through: body checks, security headers, 405's ``Allow``.

Requests: a body sent to ``/api/`` with POST, PUT, PATCH or DELETE must be JSON (``415``
otherwise: a form post is never read as ``{}``), at most ``MAX_CONTENT_LENGTH`` bytes (``413``),
parseable (``400``), nested at most :data:`MAX_JSON_DEPTH` deep and with no integer longer than
:data:`MAX_INTEGER_DIGITS` digits (``400``). Responses: ``X-Content-Type-Options: nosniff`` everywhere;
framing refused (``frame-ancestors 'none'`` when the response has no Content-Security-Policy, and
``X-Frame-Options: DENY``) unless the response's own policy names who may frame it (then no
``X-Frame-Options``, which would contradict it); ``Cache-Control: no-store`` on JSON, HSTS in production.
"""
from __future__ import annotations

import json

from flask import current_app, request
from flask_smorest import abort
from werkzeug.exceptions import MethodNotAllowed

from core.i18n import _

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The deepest nesting of arrays and objects a JSON body may have.
MAX_JSON_DEPTH = 32
#: The most digits an integer of a JSON body may have.
MAX_INTEGER_DIGITS = 32
HSTS = "max-age=31536000; includeSubDomains"


class _TooLarge(ValueError):
    """An integer of the body has more than :data:`MAX_INTEGER_DIGITS` digits."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _TooLarge(text[:8])
    return int(text)


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_json_body():
    """Refuse a write whose body is not bounded, well-formed JSON (see the module docstring)."""
    if request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
        return None
    body = request.get_data(cache=True)
    if not body:
        return None
    if not request.is_json:
        abort(415, message=_("Send the body as JSON with “Content-Type: application/json”."),
              errors={"reason": "unsupported_media_type"})
    try:
        value = json.loads(body, parse_int=_bounded_int)
    except _TooLarge:
        abort(400, message=_("Numbers in the body may have at most %(count)s digits.", count=MAX_INTEGER_DIGITS),
              errors={"reason": "invalid_json"})
    except (ValueError, RecursionError):
        abort(400, message=_("The body is not valid JSON."), errors={"reason": "invalid_json"})
    if json_depth_exceeds(value, MAX_JSON_DEPTH):
        abort(400, message=_("The body nests more than %(count)s levels deep.", count=MAX_JSON_DEPTH),
              errors={"reason": "invalid_json"})
    return None


def frame_ancestors(policy: str | None) -> str | None:
    """The sources of the ``frame-ancestors`` directive of the Content-Security-Policy ``policy``, if any."""
    for directive in (policy or "").split(";"):
        name, _sep, value = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return value.strip()
    return None


def security_headers(response):
    """Add the headers every response carries (and ``no-store`` on JSON, HSTS in production)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    if frame_ancestors(headers["Content-Security-Policy"]) in (None, "'none'"):
        # The legacy header only agrees with a policy that lets nobody frame the page: a page the
        # front end may embed (a connector's settings) is left to its own ``frame-ancestors``.
        headers.setdefault("X-Frame-Options", "DENY")
    if response.is_json:
        headers["Cache-Control"] = "no-store"
    if current_app.extensions["connectors.config"].is_production:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def install(app, api) -> None:
    """Install the body check, the response headers and the ``Allow`` header of 405 answers."""
    app.config["MAX_CONTENT_LENGTH"] = app.extensions["connectors.config"].max_content_length
    app.before_request(check_json_body)
    app.after_request(security_headers)

    def method_not_allowed(error: MethodNotAllowed):
        response = api.handle_http_exception(error)
        body, status, headers = response
        return body, status, {**headers, "Allow": ", ".join(sorted(error.valid_methods or ()))}

    app.register_error_handler(MethodNotAllowed, method_not_allowed)
