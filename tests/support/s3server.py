"""An S3 server for tests (moto's server mode, a real HTTP server on 127.0.0.1), the
environment that points clients at it, and what tests read back from it with boto3 (never
with the code under test)."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in a thread of this process; yields its endpoint URL. Skips the test
    where moto's server mode cannot be imported."""
    pytest.importorskip("moto.server", reason="moto's server mode cannot be imported (pip "
                        "install 'moto[server]'): the S3 tests need it")  # fmt: skip
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_environment(endpoint: str, home: Path, key: str = "testing",
                   secret: str = "testing") -> dict[str, str]:  # fmt: skip
    """The variables that make botocore and s3fs use ``endpoint`` with these credentials, and
    nothing of the machine's own AWS configuration."""
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials")}  # fmt: skip


#: Variables of the machine's AWS configuration that tests remove.
AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


def client(endpoint: str):
    """A boto3 S3 client for the test's own reads and writes."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def objects(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    """``{key: {"ETag", "Size", "LastModified"}}`` of every object under ``prefix``."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = {"ETag": item["ETag"].strip('"'), "Size": item["Size"],
                                  "LastModified": item["LastModified"]}  # fmt: skip
    return found


def download(s3, bucket: str, prefix: str, folder: Path) -> Path:
    """Every object under ``prefix/`` copied into ``folder`` (relative names kept)."""
    for key in objects(s3, bucket, prefix.rstrip("/") + "/"):
        target = folder / key[len(prefix.rstrip("/")) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return folder
