"""The one place that talks S3 (MinIO or any S3-compatible store) through the official ``minio`` SDK.

The endpoint is typed by the user, so it goes through the SSRF guard: it is resolved once and
the SDK's connections are pinned to that address (:class:`core.netguard.PinnedPoolManager`),
with TLS still verified against the host name. SDK and network failures are turned into
stable errors here; no message carries the secret key.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import certifi
import urllib3

from core import ConnectorError, ConnectorValidationError, NeedsReauth, PinnedPoolManager, RateLimited, resolve_public
from core import N_, gettext as _

if TYPE_CHECKING:
    from minio import Minio

#: Most entries ``list_files`` returns.
MAX_LIST = 200
ENCODINGS = ("text", "base64")
REFUSED_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                           "InvalidClientTokenId", "AuthorizationHeaderMalformed"})
SLOW_DOWN_CODES = frozenset({"SlowDown", "RequestLimitExceeded", "TooManyRequests"})
TIMEOUT = urllib3.Timeout(connect=5, read=30)
_MIME_RE = re.compile(r"^[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+\"-]+)*$")


class Storage:
    """The stored connection values: where the store is, the key pair, the bucket."""

    __slots__ = ("host", "port", "secure", "access_key", "secret_key", "bucket", "region")

    def __init__(self, values: Mapping[str, object]):
        """Read and check the values; a malformed one raises :class:`ConnectorValidationError` naming it."""
        raw = str(values.get("endpoint") or "").strip()
        self.secure = values.get("secure") is not False
        parts = urlsplit(raw if "://" in raw else "//" + raw)
        if parts.scheme:
            self.secure = parts.scheme == "https"
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("", "http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.username or port == -1:
            raise ConnectorValidationError(
                _("The endpoint is a host name with an optional port, e.g. s3.example.com or minio.example.com:9000."),
                field="endpoint")
        self.host = parts.hostname
        self.port = port or (443 if self.secure else 80)
        self.access_key = str(values.get("access_key") or "").strip()
        self.secret_key = str(values.get("secret_key") or "")
        self.bucket = str(values.get("bucket") or "").strip()
        self.region = str(values.get("region") or "").strip() or None
        for name, missing in (("access_key", N_("Enter the access key.")), ("secret_key", N_("Enter the secret key.")),
                              ("bucket", N_("Enter the bucket."))):
            if not getattr(self, name):
                raise ConnectorValidationError(_(missing), field=name)

    @property
    def endpoint(self) -> str:
        """``host:port`` as the SDK and the messages show it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def label(self) -> str:
        """The account label: ``bucket at endpoint``."""
        return f"{self.bucket} at {self.endpoint}"

    def client(self) -> Minio:
        """An SDK client whose connections go to the endpoint's checked address only."""
        from minio import Minio  # the SDK (~0.3 s of imports): loaded by the first call, not by every start

        address = resolve_public(self.host, self.port, field="endpoint")
        http = PinnedPoolManager({self.host: address}, timeout=TIMEOUT, retries=False, cert_reqs="CERT_REQUIRED",
                                 ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where())
        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=self.secure,
                     region=self.region, http_client=http)

    def __repr__(self) -> str:
        """Describe the connection without the secret key."""
        return f"Storage({self.label!r}, secure={self.secure})"


def explain(exc: Exception, storage: Storage) -> ConnectorError:
    """The stable error for a failed S3 call: refused key, missing bucket, slow down, unreachable…"""
    from minio.error import InvalidResponseError, S3Error, ServerError

    if isinstance(exc, S3Error):
        if exc.code in REFUSED_CODES:
            return NeedsReauth(_("%(endpoint)s refused the access key or secret key.", endpoint=storage.endpoint),
                               field="secret_key")
        if exc.code == "NoSuchBucket":
            return ConnectorError(_("The bucket “%(bucket)s” does not exist at %(endpoint)s; check its name.",
                                    bucket=storage.bucket, endpoint=storage.endpoint), code="not_found", field="bucket")
        if exc.code == "AccessDenied":
            return ConnectorError(_("The access key may not read or write the bucket “%(bucket)s”; give it "
                                    "s3:ListBucket and s3:PutObject on that bucket.", bucket=storage.bucket),
                                  field="access_key")
        if exc.code in SLOW_DOWN_CODES:
            return RateLimited(_("%(endpoint)s asks to slow down; try again in a minute.", endpoint=storage.endpoint),
                               retry_after=60)
        return ConnectorError(_("%(endpoint)s refused the request (%(code)s).", endpoint=storage.endpoint,
                                code=exc.code))
    if isinstance(exc, ServerError):
        if exc.status_code == 503:
            return RateLimited(_("%(endpoint)s is busy; try again in a minute.", endpoint=storage.endpoint),
                               retry_after=60)
        return ConnectorError(_("%(endpoint)s failed with HTTP %(status)s; try again later.",
                                endpoint=storage.endpoint, status=exc.status_code))
    if isinstance(exc, InvalidResponseError):
        return ConnectorError(_("%(endpoint)s does not answer like an S3 server; check the endpoint and "
                                "the TLS setting.", endpoint=storage.endpoint), field="endpoint")
    if isinstance(exc, urllib3.exceptions.SSLError):
        return ConnectorError(_("The TLS connection to %(endpoint)s failed (is its certificate valid, "
                                "and does it speak HTTPS?); check the endpoint and the TLS setting.",
                                endpoint=storage.endpoint), field="secure")
    return ConnectorError(_("Could not reach %(endpoint)s; check the endpoint, its port and the TLS setting.",
                            endpoint=storage.endpoint), field="endpoint")


def _calling(storage: Storage, call):
    """Run ``call(client)`` against ``storage``, turning SDK and network failures into stable errors."""
    from minio.error import MinioException

    client = storage.client()
    try:
        return call(client)
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise explain(exc, storage) from None


def check_bucket(values: Mapping[str, object]) -> str:
    """List the bucket with ``values`` for real and return the account label."""
    storage = Storage(values)
    _calling(storage, lambda client: next(iter(client.list_objects(storage.bucket)), None))
    return storage.label


def list_files(values: Mapping[str, object], prefix: str | None = None) -> dict:
    """The files of the bucket (all levels) whose names start with ``prefix``, at most :data:`MAX_LIST`."""
    storage = Storage(values)

    def listing(client):
        found = []
        for item in client.list_objects(storage.bucket, prefix=prefix or None, recursive=True):
            if len(found) == MAX_LIST:
                return found, True
            found.append({"name": item.object_name, "size": item.size, "etag": item.etag,
                          "last_modified": item.last_modified.isoformat() if item.last_modified else None})
        return found, False

    files, truncated = _calling(storage, listing)
    return {"bucket": storage.bucket, "files": files, "truncated": truncated}


def decode_content(content: str, encoding: str | None) -> bytes:
    """The bytes to upload: ``content`` as UTF-8 text, or decoded from base64."""
    if (encoding or "text") == "text":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ConnectorError(_("“content” is not valid base64."), code="invalid_input", field="content") from None


def upload_file(values: Mapping[str, object], name: str, data: bytes, content_type: str | None = None) -> dict:
    """Store ``data`` as ``name`` in the bucket (replacing a file of that name); return where it went."""
    name = name.strip().lstrip("/")
    if not name or len(name.encode("utf-8")) > 1024:
        raise ConnectorError(_("“name” must be a file name of 1 to 1024 bytes, e.g. reports/notes.txt."),
                             code="invalid_input", field="name")
    if content_type and not _MIME_RE.match(content_type):
        raise ConnectorError(_("“content_type” must be a media type such as text/plain or application/pdf."),
                             code="invalid_input", field="content_type")
    storage = Storage(values)
    result = _calling(storage, lambda client: client.put_object(
        storage.bucket, name, io.BytesIO(data), len(data), content_type=content_type or "application/octet-stream"))
    return {"bucket": storage.bucket, "name": result.object_name, "size": len(data), "etag": result.etag,
            "version_id": result.version_id}
