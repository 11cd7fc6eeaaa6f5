"""Writes of current releases to a CloudFront KeyValueStore, with botocore's Stubber.

moto has no KeyValueStore data plane, so these tests pin the exact calls instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber

from provisioner.targets.kvs import KvsReleaseStore, ReleaseStore

ARN = "arn:aws:cloudfront::123456789012:key-value-store/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
SIZES = {"ItemCount": 1, "TotalSizeInBytes": 10}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(signature_version=UNSIGNED),  # SigV4A would need awscrt, absent here
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def describe(stubber: Stubber, etag: str) -> None:
    stubber.add_response(
        "describe_key_value_store",
        {"KvsARN": ARN, "ETag": etag, "Created": datetime.now(UTC), **SIZES},
        {"KvsARN": ARN},
    )


def test_each_write_names_the_etag_returned_by_the_previous_one(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    describe(stubber, "e1")
    put = {"KvsARN": ARN, "Key": "r:liege", "Value": "rel-1", "IfMatch": "e1"}
    stubber.add_response("put_key", {"ETag": "e2", **SIZES}, put)
    put2 = {"KvsARN": ARN, "Key": "r:namur", "Value": "rel-9", "IfMatch": "e2"}
    stubber.add_response("put_key", {"ETag": "e3", **SIZES}, put2)
    store = KvsReleaseStore(client, ARN)
    store.set_release("liege", "rel-1")
    store.set_release("namur", "rel-9")


def test_a_stale_etag_is_read_again_once(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    describe(stubber, "old")
    stubber.add_client_error("put_key", "ConflictException", http_status_code=409)
    describe(stubber, "new")
    put = {"KvsARN": ARN, "Key": "r:liege", "Value": "rel-2", "IfMatch": "new"}
    stubber.add_response("put_key", {"ETag": "newer", **SIZES}, put)
    KvsReleaseStore(client, ARN).set_release("liege", "rel-2")


def test_other_errors_are_raised(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    describe(stubber, "e1")
    stubber.add_client_error("put_key", "AccessDeniedException", http_status_code=403)
    with pytest.raises(Exception, match="AccessDenied"):
        KvsReleaseStore(client, ARN).set_release("liege", "rel-1")


def test_without_a_store_the_bucket_pointer_alone_switches() -> None:
    store = ReleaseStore.create(SimpleNamespace(), None)
    assert type(store) is ReleaseStore
    store.set_release("liege", "rel-1")  # a no-op, never a network call
