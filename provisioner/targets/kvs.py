"""Where the edge learns a nation's current release: a CloudFront KeyValueStore.

The CloudFront Function of `infra/` maps a Host header to a slug, then reads the key
`r:<slug>` to rewrite the request to `sites/<slug>/<release>/...`. Every write to a
store must name the store's current ETag, so writes are serialized here and the ETag of
each answer is kept for the next one (one store-wide round trip instead of two).

Without a store (any S3-compatible endpoint, tests), the bucket pointer is the switch.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from provisioner.errors import InputError
from provisioner.targets.layout import kvs_release_key

STALE_ETAG_CODES = {"ConflictException", "ValidationException", "PreconditionFailed"}


class ReleaseStore:
    """No store: the bucket pointer alone says which release is current."""

    @staticmethod
    def create(aws: Any, kvs_arn: str | None) -> ReleaseStore:
        if not kvs_arn:
            return ReleaseStore()
        try:
            import awscrt  # noqa: F401 - the KVS API is signed with SigV4A, which needs it
        except ImportError as exc:
            raise InputError(
                f"publishing to {kvs_arn} (kvs_arn) needs SigV4A signing: "
                "pip install 'botocore[crt]'; without it the edge would keep serving old releases"
            ) from exc
        # The KVS endpoint is derived from the ARN: never point it at an S3 endpoint.
        client = aws.session.client("cloudfront-keyvaluestore", config=aws.config)
        return KvsReleaseStore(client, kvs_arn)

    def set_release(self, slug: str, release: str) -> None:
        """Serve `release` for `slug` at the edge."""

    def delete(self, slug: str) -> None:
        """Stop serving `slug` at the edge."""


class KvsReleaseStore(ReleaseStore):
    def __init__(self, client: Any, arn: str):
        self.client = client
        self.arn = arn
        self._etag: str | None = None
        self._lock = threading.Lock()

    def set_release(self, slug: str, release: str) -> None:
        self._write("put_key", Key=kvs_release_key(slug), Value=release)

    def delete(self, slug: str) -> None:
        try:
            self._write("delete_key", Key=kvs_release_key(slug))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def _write(self, operation: str, **arguments: str) -> None:
        with self._lock:
            for attempt in (1, 2):
                if self._etag is None:
                    self._etag = self.client.describe_key_value_store(KvsARN=self.arn)["ETag"]
                try:
                    answer = getattr(self.client, operation)(
                        KvsARN=self.arn, IfMatch=self._etag, **arguments
                    )
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    self._etag = None  # someone else wrote: read the ETag again
                    if attempt == 2 or code not in STALE_ETAG_CODES:
                        raise
                    continue
                self._etag = answer["ETag"]
                return
