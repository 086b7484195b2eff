"""A local S3-compatible server for archive tests: moto's server mode on a free
port, with a bucket of its own per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

from tests.support.processes import free_port

# moto accepts any credentials; obstore, like every AWS client, reads them from here
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "clarion-test",
    "AWS_SECRET_ACCESS_KEY": "clarion-test-secret",
    "AWS_REGION": "us-east-1",
}


class MotoS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> MotoS3:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def new_bucket(self) -> str:
        name = f"archive-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=AWS_ENV["AWS_REGION"],
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )


@contextmanager
def aws_environment() -> Iterator[None]:
    """AWS_* set for this process (and the children it starts), restored after."""
    before = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
