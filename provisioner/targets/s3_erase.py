"""Erasure on the S3 target: rewrite the private objects naming a person, drop old versions.

The private bucket keeps versions (a bad deploy cannot destroy supporter lists) and
its lifecycle rule (infra/) expires old versions after one day. An erasure does not
wait for it: every older version of a rewritten object is deleted at once, so a list
from before the erasure cannot be fetched again, even by the deployer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provisioner.render.manifest import sha256
from provisioner.targets.base import Scrubber

if TYPE_CHECKING:
    from provisioner.targets.s3 import S3Target

PREFIX = "private/"


def scrub_private(target: S3Target, scrub: Scrubber) -> dict[str, int]:
    """`<slug>/<path>` -> rows removed, for every private object `scrub` changed."""
    found: dict[str, int] = {}
    pages = target.s3.get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=target.private, Prefix=PREFIX):
        for key in (obj["Key"] for obj in page.get("Contents", [])):
            body = target.s3.get_object(Bucket=target.private, Key=key)["Body"].read()
            data, removed = scrub(key.removeprefix(PREFIX), body)
            if removed:
                target.put_private(key, data)
                delete_old_versions(target, key)
                found[key.removeprefix(PREFIX)] = removed
    refresh_manifests(target, found)
    return found


def delete_old_versions(target: S3Target, key: str) -> None:
    pages = target.s3.get_paginator("list_object_versions")
    for page in pages.paginate(Bucket=target.private, Prefix=key):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if entry["Key"] == key and not entry["IsLatest"]:
                target.s3.delete_object(
                    Bucket=target.private, Key=key, VersionId=entry["VersionId"]
                )


def refresh_manifests(target: S3Target, changed: dict[str, int]) -> None:
    """The live manifests must describe the scrubbed lists, as after a publish."""
    for slug in sorted({name.split("/", 1)[0] for name in changed}):
        current = target.current_release(slug)
        if current is None:
            continue
        scrubbed = {}
        for name in (n for n in changed if n.startswith(f"{slug}/")):
            key = PREFIX + name
            body = target.s3.get_object(Bucket=target.private, Key=key)["Body"].read()
            scrubbed[f"private/{name.split('/', 1)[1]}"] = sha256(body)
        target.put_manifest(slug, current, target.manifest(slug, current).with_entries(scrubbed))
