"""MinIO connector: upload and list files in a bucket of MinIO or any S3-compatible store.

The S3 calls live in :mod:`plugins.minio.client` (official ``minio`` SDK, endpoint through
the SSRF guard); this module declares the connector.
"""
from pathlib import Path

from core import Action, ActionParam, ConfigField, ConnectorSpec, hookimpl, trying_credentials
from core import N_
from plugins.minio import client

REFUSED = N_("The storage server refused the access key or secret key.")


def validate(values: dict) -> str:
    """List the bucket with ``values`` for real; return ``bucket at host:port``."""
    with trying_credentials(REFUSED, field="secret_key"):
        return client.check_bucket(values)


def upload_file(ctx, name: str, content: str, content_type: str | None = None, encoding: str | None = None) -> dict:
    """Store ``content`` (text, or base64 when ``encoding`` is ``base64``) as the file ``name``."""
    data = client.decode_content(content, encoding)
    return client.upload_file(ctx.config, name, data, content_type)


def list_files(ctx, prefix: str | None = None) -> dict:
    """List the bucket's files whose names start with ``prefix``."""
    return client.list_files(ctx.config, prefix)


SPEC = ConnectorSpec(
    key="minio",
    name="MinIO / S3",
    kind="config",
    provider="minio",
    description="Upload files to and list files in a bucket of your MinIO or S3-compatible storage.",
    icon=Path(__file__).parent / "icon.svg",
    fields=(
        ConfigField("endpoint", "Endpoint", help="Host and port of the server, e.g. minio.example.com:9000."),
        ConfigField("access_key", "Access key"),
        ConfigField("secret_key", "Secret key", secret=True),
        ConfigField("bucket", "Bucket", help="The bucket the connector reads and writes."),
        ConfigField("region", "Region", required=False, help="Only if your server needs one, e.g. us-east-1."),
        ConfigField("secure", "Use TLS (HTTPS)", type="boolean", default=True,
                    help="Turn off only for a server on a trusted network without HTTPS."),
    ),
    validate=validate,
    actions=(
        Action(
            name="upload_file",
            description="Upload a file to the connected bucket, replacing any file of the same name.",
            run=upload_file,
            params=(
                ActionParam("name", "string", "The file name in the bucket, e.g. reports/2024-05.txt."),
                ActionParam("content", "string", "The file's content: text, or base64 when encoding is base64."),
                ActionParam("content_type", "string", "The media type, e.g. text/plain (default "
                            "application/octet-stream).", required=False),
                ActionParam("encoding", "string", "How content is given: text (default) or base64 for binary "
                            "files.", required=False, enum=client.ENCODINGS),
            ),
        ),
        Action(
            name="list_files",
            description=f"List up to {client.MAX_LIST} files in the connected bucket, optionally only those "
                        "whose names start with a prefix.",
            run=list_files,
            params=(ActionParam("prefix", "string", "Only files whose names start with this, e.g. reports/.",
                                required=False),),
        ),
    ),
)


@hookimpl
def register_connectors():
    """Return the MinIO connector's declaration."""
    return [SPEC]
