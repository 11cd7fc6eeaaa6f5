"""One deploy at a time against a pair of buckets, across machines: a lock object with a lease.

S3 conditional writes make the lock (as Terraform's S3 backend does since 1.10): a
PUT with `If-None-Match: *` succeeds for exactly one writer, and `If-Match: <etag>`
renews or takes over a lease only if nobody else did in between. moto's server honours
both (checked by tests/test_s3_lock.py), so no DynamoDB table is needed.

Each shard of a run holds its own key, `locks/deploy-<index>.json`, naming the run, so
`--shard 0/2` and `--shard 1/2` of one run hold their locks side by side; after taking
its key a holder lists every lock, and any live one of another run means refusal. An
unsharded deploy is shard 0 of 1: it collides with shard 0 of any run on the key itself,
and with every other shard through the listing. A lease not renewed for `lease_s`
seconds (the holder died) is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from provisioner.errors import LockError
from provisioner.run.shard import RunScope
from provisioner.targets.layout import LOCKS, lock_key

MISSING = {"NoSuchKey", "404"}
CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Lock:
    """The lock of one shard of one run; `acquire` refuses with the holder named."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        scope: RunScope,
        lease_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ):
        self.s3, self.bucket, self.scope = s3, bucket, scope
        self.lease_s, self.clock = lease_s, clock
        self.key = lock_key(scope.shard_index)
        self.etag: str | None = None
        self.lost = False
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _body(self) -> bytes:
        holder = {
            "run": self.scope.key,
            "shard": f"{self.scope.shard_index}/{self.scope.shard_count}",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at,
            "command": self.scope.command,
            "expires_at": self.clock() + self.lease_s,
        }
        return json.dumps(holder).encode()

    def _put(self, **condition: str) -> str:
        answer = self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key,
            Body=self._body(),
            ContentType="application/json",
            **condition,
        )
        return str(answer["ETag"])

    def acquire(self) -> None:
        try:
            self.etag = self._put(IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) not in CONFLICT:
                raise
            self._take_over_or_refuse()
        try:
            self._refuse_other_runs()
        except LockError:
            self.release()
            raise
        self._renewer = threading.Thread(target=self._renew_loop, daemon=True, name="lease")
        self._renewer.start()

    def _take_over_or_refuse(self) -> None:
        holder, etag = self._read(self.key)
        if holder is not None and not self._expired(holder):
            raise LockError(refusal(self.bucket, self.key, holder))
        try:  # a dead holder's lease: replace exactly that object, or lose the race
            self.etag = self._put(IfMatch=etag) if etag else self._put(IfNoneMatch="*")
        except ClientError as exc:
            if _code(exc) not in CONFLICT | MISSING:
                raise
            holder, _ = self._read(self.key)
            raise LockError(refusal(self.bucket, self.key, holder or {})) from None

    def _refuse_other_runs(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=LOCKS)
        for item in listing.get("Contents", []):
            if item["Key"] == self.key:
                continue
            holder, _ = self._read(item["Key"])
            if holder and holder.get("run") != self.scope.key and not self._expired(holder):
                raise LockError(refusal(self.bucket, item["Key"], holder))

    def _read(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in MISSING:
                return None, None
            raise
        try:
            holder = json.loads(answer["Body"].read())
        except ValueError:
            holder = {}  # unreadable: treated as expired, so it can be taken over
        return (holder if isinstance(holder, dict) else {}), str(answer["ETag"])

    def _expired(self, holder: dict[str, Any]) -> bool:
        expires = holder.get("expires_at")
        return not isinstance(expires, (int, float)) or expires < self.clock()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.etag = self._put(IfMatch=self.etag or "")
            except ClientError as exc:
                if _code(exc) in CONFLICT | MISSING:
                    self.lost = True  # taken over: our lease had expired
                    return
            except Exception:  # a failed renewal is retried next period
                continue

    def check(self) -> None:
        """Raise when the lease was lost: writing on would race the new holder."""
        if self.lost:
            raise LockError(
                f"the deploy lock s3://{self.bucket}/{self.key} was taken over after this "
                "deploy failed to renew its lease; stopping to not publish over the new holder"
            )

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()  # a renewal in flight changes the ETag the delete names
        if self.etag is None or self.lost:
            return
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as exc:
            if _code(exc) not in CONFLICT | MISSING:
                raise
        self.etag = None


def refusal(bucket: str, key: str, holder: dict[str, Any]) -> str:
    expires = holder.get("expires_at")
    until = (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        if isinstance(expires, (int, float))
        else "?"
    )
    who = (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, run {holder.get('run', '?')} "
        f"shard {holder.get('shard', '?')}, started {holder.get('started_at', '?')} "
        f"({holder.get('command', '?')}), lease until {until}"
    )
    return (
        f"another deploy holds the lock s3://{bucket}/{key}: {who}; wait for it to finish "
        "(a lease not renewed in time is taken over automatically)"
    )
