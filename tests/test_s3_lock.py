"""The deploy lock and the live index of the S3 target, against a real S3 endpoint (moto_server).

First the premise: moto's server honours S3 conditional writes (If-None-Match: * and
If-Match), which is what lets the lock live in the private bucket without DynamoDB.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from s3_support import MotoServer, Proxy
from test_s3_target import make_build

from provisioner.errors import LockError
from provisioner.run.shard import RunScope
from provisioner.targets.aws import S3Settings
from provisioner.targets.ratelimit import RateLimits
from provisioner.targets.s3 import S3Target
from provisioner.targets.s3lock import S3Lock

REGION = "eu-west-1"


@pytest.fixture
def s3(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPROVISIONERLOCK1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lock/test/secret")
    return boto3.client("s3", endpoint_url=moto.url, region_name=REGION)


def new_bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def precondition_failed(call: Any) -> bool:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "PreconditionFailed"
    return False


def test_moto_honours_conditional_writes(s3: Any) -> None:
    bucket = new_bucket(s3)
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")
    assert precondition_failed(
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    )
    assert precondition_failed(
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch='"x"')
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"4", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"4"
    assert precondition_failed(
        lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=first["ETag"])
    )


def test_exactly_one_of_many_simultaneous_writers_gets_the_key(s3: Any) -> None:
    bucket = new_bucket(s3)

    def attempt(i: int) -> bool:
        try:
            s3.put_object(Bucket=bucket, Key="lock", Body=str(i).encode(), IfNoneMatch="*")
        except ClientError:
            return False
        return True

    for _ in range(5):
        s3.delete_object(Bucket=bucket, Key="lock")
        with ThreadPoolExecutor(max_workers=16) as pool:
            assert sum(pool.map(attempt, range(16))) == 1


def lock(
    s3: Any, bucket: str, run: str, index: int = 0, count: int = 1, lease: float = 30
) -> S3Lock:
    return S3Lock(s3, bucket, RunScope(run, index, count), lease_s=lease)


def test_a_second_run_is_refused_naming_the_holder(s3: Any) -> None:
    bucket = new_bucket(s3)
    holder = lock(s3, bucket, "run-a")
    holder.acquire()
    with pytest.raises(
        LockError,
        match=r"holds the lock s3://.*deploy-0\.json: pid \d+ on .*run run-a shard 0/1",
    ):
        lock(s3, bucket, "run-b").acquire()
    with pytest.raises(LockError, match="run run-a"):  # a shard of another run: by listing
        lock(s3, bucket, "run-c", 1, 2).acquire()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "locks/deploy-0.json"
    ]
    holder.release()
    after = lock(s3, bucket, "run-b")
    after.acquire()  # free again
    after.release()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_shards_of_one_run_hold_their_locks_side_by_side(s3: Any) -> None:
    bucket = new_bucket(s3)
    shards = [lock(s3, bucket, "run-x", i, 2) for i in range(2)]
    for shard in shards:
        shard.acquire()
    with pytest.raises(LockError, match="run run-x"):
        lock(s3, bucket, "run-y").acquire()  # unsharded: collides on deploy-0
    for shard in shards:
        shard.release()


def test_an_expired_lease_is_taken_over_and_a_live_one_is_renewed(s3: Any) -> None:
    bucket = new_bucket(s3)
    dead = {"run": "dead", "pid": 1, "host": "gone", "expires_at": time.time() - 1}
    s3.put_object(Bucket=bucket, Key="locks/deploy-0.json", Body=json.dumps(dead).encode())
    taker = lock(s3, bucket, "alive", lease=0.6)
    taker.acquire()
    body = json.loads(s3.get_object(Bucket=bucket, Key="locks/deploy-0.json")["Body"].read())
    assert body["run"] == "alive" and body["expires_at"] > time.time()
    first_etag = taker.etag
    time.sleep(0.5)  # renewed every lease/3
    assert taker.etag != first_etag and not taker.lost
    renewed = json.loads(s3.get_object(Bucket=bucket, Key="locks/deploy-0.json")["Body"].read())
    assert renewed["expires_at"] > body["expires_at"]
    with pytest.raises(LockError, match="run alive"):
        lock(s3, bucket, "other").acquire()
    taker.release()


def s3_target(proxy: Proxy, site: str, private: str, lease: float = 30) -> S3Target:
    settings = S3Settings(site, private, endpoint_url=proxy.url, region=REGION, lock_lease_s=lease)
    return S3Target(settings, limits=RateLimits({"ses": 1000.0}))


def test_a_crashed_run_leaves_pending_marks_and_the_pointer_decides(s3: Any, proxy: Proxy) -> None:
    site, private = new_bucket(s3), new_bucket(s3)
    crashed = s3_target(proxy, site, private)
    release = crashed.publish(make_build("liege")).release
    assert crashed.run.lock is not None
    crashed.run.lock._stop.set()  # the process dies: no renewal, no index saved, no release

    later = s3_target(proxy, site, private)
    proxy.reset()
    assert later.current_release("liege") == release  # pending: read from the pointer
    assert ("GET", f"/{site}/sites/liege/_current") in proxy.traffic.paths
    with pytest.raises(LockError, match="lease until"):
        later.publish(make_build("liege", page="v2"))  # the dead lease is not over yet
    # Time passes: the dead holder's lease runs out (its body says so; no renewal came).
    key = "locks/deploy-0.json"
    holder = json.loads(s3.get_object(Bucket=private, Key=key)["Body"].read())
    holder["expires_at"] = time.time() - 1
    s3.put_object(Bucket=private, Key=key, Body=json.dumps(holder).encode())
    again = s3_target(proxy, site, private)
    assert again.publish(make_build("liege", page="v3")).release  # taken over
    again.close()
    index = json.loads(s3.get_object(Bucket=private, Key="live/0-of-1.json")["Body"].read())
    assert index["pending"] == [] and index["nations"]["liege"][0] == again.current_release("liege")


def test_a_noop_reads_the_index_once_whatever_the_number_of_nations(s3: Any, proxy: Proxy) -> None:
    site, private = new_bucket(s3), new_bucket(s3)
    first = s3_target(proxy, site, private)
    slugs = [f"nation-{i:03d}" for i in range(60)]
    for slug in slugs:
        first.publish(make_build(slug))
    first.close()
    proxy.reset()
    noop = s3_target(proxy, site, private)
    releases = {slug: noop.current_release(slug) for slug in slugs}
    assert noop.deployed_slugs() == set(slugs) and all(releases.values())
    noop.close()
    assert dict(proxy.traffic.methods) == {"GET": 2}  # the listing of live/ and one object


def test_a_run_that_read_a_stale_index_is_refused_before_writing(s3: Any, proxy: Proxy) -> None:
    site, private = new_bucket(s3), new_bucket(s3)
    slow = s3_target(proxy, site, private)
    assert slow.current_release("liege") is None  # reads the (empty) index
    quick = s3_target(proxy, site, private)
    quick.publish(make_build("liege"))
    quick.close()
    with pytest.raises(LockError, match="after this run read it; nothing was written"):
        slow.publish(make_build("liege", page="v2"))
    assert "locks/deploy-0.json" not in {
        o["Key"] for o in s3.list_objects_v2(Bucket=private).get("Contents", [])
    }
