"""The MinIO connector through the HTTP API against a real S3-compatible server: moto in
server mode on loopback, with its IAM authentication switched on, so a wrong key or secret
is refused by real SigV4 checking (``InvalidAccessKeyId`` / ``SignatureDoesNotMatch``).
"""
from __future__ import annotations

import base64
import json
import uuid

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.connectors.helpers import ORG, USER, accepted_config, refused_config, revoked, run, signed_in, status
from tests.services import LOOPBACK, free_port

S3_POLICY = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}]})


class S3Server:
    """moto on a free loopback port; ``admin`` is an IAM key pair allowed everything."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)

    def start(self) -> None:
        """Serve, then switch authentication on after the three calls that create the admin key."""
        self._server.start()
        requests.post(self.url + "/moto-api/reset-auth", data=b"3", timeout=10).raise_for_status()
        anonymous = ("AKIAANONYMOUS0000000", "anonymous")
        self.admin = self._new_user(anonymous)

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str, key: tuple[str, str]):
        """A boto3 client for ``service`` signed with ``key``."""
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=key[0], aws_secret_access_key=key[1])

    def _new_user(self, signer: tuple[str, str]) -> tuple[str, str]:
        iam = self.client("iam", signer)
        name = "user-" + uuid.uuid4().hex[:8]
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=S3_POLICY)
        created = iam.create_access_key(UserName=name)["AccessKey"]
        return created["AccessKeyId"], created["SecretAccessKey"]

    def new_account(self) -> dict:
        """A fresh IAM key pair and an empty bucket it may use: the connector's config values."""
        key = self._new_user(self.admin)
        bucket = "files-" + uuid.uuid4().hex[:8]
        self.client("s3", self.admin).create_bucket(Bucket=bucket)
        return {"endpoint": f"{LOOPBACK}:{self.port}", "access_key": key[0], "secret_key": key[1],
                "bucket": bucket, "region": "us-east-1", "secure": False}


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def account(s3_server):
    return s3_server.new_account()


@pytest.fixture
def connected(start_platform, tmp_path, account):
    """The platform on SQLite with USER's bucket connected."""
    p, user = signed_in(start_platform, f"sqlite:///{tmp_path}/x.db")
    accepted_config(p, user, "minio", account, "secret_key")
    return p, user


def test_connect_upload_list_and_revoke(start_platform, database_url, account, s3_server):
    p, user = signed_in(start_platform, database_url)
    wrong = refused_config(p, user, "minio", {**account, "secret_key": "not-the-secret"}, USER, ORG, "not-the-secret")
    assert wrong["message"] == "The storage server refused the access key or secret key."

    connected = accepted_config(p, user, "minio", account, "secret_key")
    assert connected["account"] == f"{account['bucket']} at {account['endpoint']}"
    uploaded = run(p, user, "minio", "upload_file", name="notes/today.txt", content="Call Bob at 3.",
                   content_type="text/plain")
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["result"]["size"] == 14
    png = bytes(range(256))
    assert run(p, user, "minio", "upload_file", name="logo.png", content=base64.b64encode(png).decode(),
               encoding="base64").status_code == 200

    stored = s3_server.client("s3", s3_server.admin)
    text = stored.get_object(Bucket=account["bucket"], Key="notes/today.txt")
    assert text["Body"].read() == b"Call Bob at 3." and text["ContentType"] == "text/plain"
    assert stored.get_object(Bucket=account["bucket"], Key="logo.png")["Body"].read() == png

    listed = run(p, user, "minio", "list_files").json()["result"]
    assert [f["name"] for f in listed["files"]] == ["logo.png", "notes/today.txt"]
    assert listed["truncated"] is False
    only_notes = run(p, user, "minio", "list_files", prefix="notes/").json()["result"]["files"]
    assert [(f["name"], f["size"]) for f in only_notes] == [("notes/today.txt", 14)]

    tool = user.post(p.api("/api/v1/tools/upload_file/invoke"),
                     json={"name": "voice.txt", "content": "Dictated", "content_type": None, "encoding": None})
    assert tool.json()["ok"] is True, tool.text
    assert stored.get_object(Bucket=account["bucket"], Key="voice.txt")["Body"].read() == b"Dictated"

    revoked(p, user, "minio", USER, ORG)
    assert run(p, user, "minio", "list_files").status_code == 409


@pytest.mark.parametrize("change, message, field", [
    ({"access_key": "AKIAUNKNOWN000000000"}, "The storage server refused the access key or secret key.",
     "secret_key"),
    ({"bucket": "no-such-bucket"}, "The bucket “no-such-bucket” does not exist at", "bucket"),
    ({"endpoint": f"{LOOPBACK}:{free_port()}"}, "Could not reach", "endpoint"),
    ({"endpoint": "https://s3.example.com/path"}, "The endpoint is a host name", "endpoint"),
])
def test_refused_configs(start_platform, tmp_path, account, change, message, field):
    p, user = signed_in(start_platform, f"sqlite:///{tmp_path}/x.db")
    body = refused_config(p, user, "minio", {**account, **change}, USER, ORG, account["secret_key"])
    assert body["message"].startswith(message) and body["errors"]["field"] == field


def test_private_endpoint_is_refused_without_allow_private(start_platform, tmp_path, account):
    p, user = signed_in(start_platform, f"sqlite:///{tmp_path}/x.db", CONNECTORS_ALLOW_PRIVATE_HOSTS="0")
    body = refused_config(p, user, "minio", account, USER, ORG, account["secret_key"])
    assert body["message"].startswith(f"{LOOPBACK} is not allowed: for security")
    assert body["errors"] == {"reason": "invalid_credentials", "cause": "forbidden_host", "field": "endpoint"}


def test_deleted_key_needs_reauth(connected, account, s3_server):
    p, user = connected
    iam = s3_server.client("iam", s3_server.admin)
    owner = iam.get_access_key_last_used(AccessKeyId=account["access_key"])["UserName"]
    iam.delete_access_key(UserName=owner, AccessKeyId=account["access_key"])
    answer = run(p, user, "minio", "list_files")
    assert answer.status_code == 409 and answer.json()["errors"]["reason"] == "needs_reauth"
    assert account["secret_key"] not in answer.text
    assert status(p, user, "minio")["status"] == "needs_reauth"


def test_upload_failures(connected, account, s3_server):
    p, user = connected
    bad = run(p, user, "minio", "upload_file", name="x.bin", content="not base64!", encoding="base64")
    assert bad.status_code == 422 and bad.json()["errors"] == {"reason": "invalid_input", "field": "content"}
    s3_server.client("s3", s3_server.admin).delete_bucket(Bucket=account["bucket"])
    gone = run(p, user, "minio", "upload_file", name="x.txt", content="x")
    assert gone.status_code == 404 and gone.json()["errors"] == {"reason": "not_found", "field": "bucket"}
