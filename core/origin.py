"""Same-origin check for cookie-authenticated writes (the defence against cross-site request forgery).

A browser marks every request it sends with where it comes from: ``Origin`` on any POST, PUT,
PATCH or DELETE, and ``Sec-Fetch-Site`` in current browsers. A page on another site can make the
browser send our ``session`` cookie, but it cannot set either header. A cookie-authenticated
write is therefore accepted only when ``Origin`` is one of ours (the request's own host, or
``BACKEND_URL``, ``APP_BASE_URL`` or ``FRONTEND_URL``) or ``Sec-Fetch-Site`` is ``same-origin``.
"""
from __future__ import annotations

from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, as a browser writes it in ``Origin``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def trusted_origins(request, config) -> frozenset[str]:
    """The origins whose pages may write with the cookie: this host and the configured URLs."""
    urls = (request.host_url, config.backend_url, config.app_base_url, config.frontend_url)
    return frozenset(origin_of(url) for url in urls)


def same_origin(request, config) -> bool:
    """Whether ``request`` provably comes from one of our own pages (``Origin`` or ``Sec-Fetch-Site``)."""
    origin = request.headers.get("Origin", "").strip().lower()
    if origin and origin != "null" and origin in trusted_origins(request, config):
        return True
    return request.headers.get("Sec-Fetch-Site", "").strip().lower() == "same-origin"
